; A Multiboot program that keeps the platform busy for the snapshot tests (src/snapshot and the
; CLI's): the PIT at 1 kHz on IRQ 0 through the PIC, HLT between ticks (virtual time warps), x87
; arithmetic, paging with a 4 MiB page, RDTSC, CMOS reads, PIT latches and the 16550 with its FIFO.
; It prints its state every 100 ticks on the debug console and COM1, and exits after 1500 ticks.

bits 32
org 0x100000

DEBUGCON  equ 0xe9
EXIT_PORT equ 0xf4
COM1      equ 0x3f8

mb_header:
    dd 0x1badb002
    dd 0x00010000
    dd -(0x1badb002 + 0x00010000)
    dd mb_header
    dd mb_header
    dd 0
    dd 0
    dd _start

_start:
    mov esp, stack_top
    lgdt [gdt_ptr]
    jmp 0x08:.reload
.reload:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov eax, timer_isr
    mov [idt + 0x20 * 8], ax
    mov word [idt + 0x20 * 8 + 2], 0x08
    mov word [idt + 0x20 * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + 0x20 * 8 + 6], ax
    lidt [idt_ptr]
    ; PIC pair: vectors 20h and 28h, only IRQ 0 unmasked.
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    ; PIT channel 0, mode 2, 1193 ticks of 1.193182 MHz.
    mov al, 0x34
    out 0x43, al
    mov al, 0xa9
    out 0x40, al
    mov al, 0x04
    out 0x40, al
    ; COM1: 8N1, FIFOs on.
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al
    mov dx, COM1 + 2
    mov al, 0x07
    out dx, al
    ; Paging: one 4 MiB identity page.
    mov eax, cr4
    or eax, 0x10
    mov cr4, eax
    mov dword [page_dir], 0x83
    mov eax, page_dir
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    fninit
    fld1
    sti

main_loop:
    fmul qword [factor]
    mov eax, [hash]
    imul eax, eax, 0x01000193
    xor eax, [ticks]
    mov [hash], eax
    mov ecx, [iters]
    and ecx, 0xfff
    mov [buffer + ecx * 4], eax
    inc dword [iters]
    test dword [iters], 31
    jnz .busy
    hlt
.busy:
    mov eax, [ticks]
    cmp eax, [next_print]
    jb main_loop
    add dword [next_print], 100
    call print_state
    cmp dword [ticks], 1500
    jb main_loop
    fstp qword [result]
    mov eax, [result + 4]
    call puthex
    mov eax, [result]
    call puthex
    call newline
    mov al, 0
    out EXIT_PORT, al
.hang:
    hlt
    jmp .hang

timer_isr:
    push eax
    inc dword [ticks]
    mov al, 0x20
    out 0x20, al
    pop eax
    iret

; ticks, hash, TSC low word, CMOS seconds, PIT channel 0 latched count.
print_state:
    mov eax, [ticks]
    call puthex
    mov eax, [hash]
    call puthex
    rdtsc
    call puthex
    mov al, 0
    out 0x70, al
    in al, 0x71
    movzx eax, al
    call puthex
    mov al, 0
    out 0x43, al
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    movzx eax, ax
    call puthex
    call newline
    ret

; Prints eax as 8 hex digits on the debug console and COM1.
puthex:
    push eax
    push ecx
    push edx
    mov edx, eax
    mov ecx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '0' - 10
.out:
    call putc
    loop .digit
    mov al, ' '
    call putc
    pop edx
    pop ecx
    pop eax
    ret

newline:
    push eax
    mov al, 10
    call putc
    pop eax
    ret

putc:
    push edx
    out DEBUGCON, al
    mov dx, COM1
    out dx, al
    pop edx
    ret

align 8
factor:     dq 1.0001
result:     dq 0
hash:       dd 0x811c9dc5
ticks:      dd 0
iters:      dd 0
next_print: dd 100
gdt:
    dq 0
    dq 0x00cf9a000000ffff
    dq 0x00cf92000000ffff
gdt_ptr:
    dw gdt_ptr - gdt - 1
    dd gdt
idt_ptr:
    dw 256 * 8 - 1
    dd idt
align 4096
page_dir:   times 1024 dd 0
idt:        times 256 * 8 db 0
buffer:     times 4096 dd 0
            times 4096 db 0
stack_top:
