; A 64 KiB BIOS image: starts at the reset vector in real mode, switches to 32-bit protected mode,
; runs 16-bit protected-mode code, returns to real mode and uses a 4 GiB FS limit kept from
; protected mode ("unreal mode").
bits 16
org 0

ROM_BASE  equ 0xf0000
DEBUGCON  equ 0xe9
EXIT_PORT equ 0xf4

start:
    mov ebp, edx                    ; the processor signature, from RESET
    cli
    xor ax, ax
    mov ss, ax
    mov sp, 0x7c00
    mov ds, ax
    mov si, msg_real
    call puts16
    mov eax, ebp
    call puthex16
    lgdt [cs:gdt_ptr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:(ROM_BASE + pm32)

; Prints the string at CS:SI, then a newline.
puts16:
    mov al, [cs:si]
    inc si
    test al, al
    jz .done
    out DEBUGCON, al
    jmp puts16
.done:
    mov al, 10
    out DEBUGCON, al
    ret

; Prints EAX as 8 hex digits and a newline.
puthex16:
    mov edx, eax
    mov cx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '0' - 10
.out:
    out DEBUGCON, al
    loop .digit
    mov al, 10
    out DEBUGCON, al
    ret

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7c00
    mov esi, ROM_BASE + msg_pm32
.print:
    lodsb
    test al, al
    jz .printed
    out DEBUGCON, al
    jmp .print
.printed:
    mov al, 10
    out DEBUGCON, al
    mov dword [0x200000], 0xcafef00d
    jmp 0x18:pm16

bits 16
pm16:
    mov si, msg_pm16
    call puts16
    ; Real-mode-compatible caches for DS/ES/SS; FS keeps a 4 GiB limit.
    mov ax, 0x20
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov ax, 0x10
    mov fs, ax
    mov eax, cr0
    and al, 0xfe
    mov cr0, eax
    jmp 0xf000:real_again

real_again:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov fs, ax
    mov si, msg_real_again
    call puts16
    mov eax, [fs:dword 0x200000]
    call puthex16
    smsw ax
    and eax, 1
    call puthex16
    mov al, 0x10
    out EXIT_PORT, al
    hlt

msg_real: db "real mode, signature", 0
msg_pm32: db "32-bit protected mode", 0
msg_pm16: db "16-bit protected mode", 0
msg_real_again: db "real mode again, unreal read", 0

align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff           ; 0x08 flat 32-bit code (accessed preset: the GDT is in ROM)
    dq 0x00cf93000000ffff           ; 0x10 flat 32-bit data
    dq 0x00009b0f0000ffff           ; 0x18 16-bit code, base 0xf0000
    dq 0x000093000000ffff           ; 0x20 16-bit data, base 0, limit 0xffff
gdt_ptr:
    dw gdt_ptr - gdt - 1
    dd ROM_BASE + gdt

    times 0xfff0 - ($ - $$) db 0
reset:
    jmp 0xf000:start
    times 0x10000 - ($ - $$) db 0
