; Runtime for 32-bit Multiboot test programs (nasm -f bin), included first. The program defines
; `main`; this file provides the Multiboot header, a GDT with ring 0/3 segments, a TSS with an I/O
; bitmap, an IDT whose exception handlers record what happened and resume at [resume_eip], and
; output helpers for the debug console. Ring-3 code may use the console: the TSS I/O bitmap allows
; port 0xE9 (and 0x80). Programs end with %include "mb32-tail.asm".

bits 32
org 0x100000

DEBUGCON  equ 0xe9
EXIT_PORT equ 0xf4

SEL_CODE0  equ 0x08
SEL_DATA0  equ 0x10
SEL_CODE3  equ 0x18 | 3
SEL_DATA3  equ 0x20 | 3
SEL_TSS    equ 0x28
SEL_CODE16 equ 0x30
SEL_DATA16 equ 0x38
SEL_CALLG  equ 0x40
SEL_TSS2   equ 0x48
SEL_TASKG  equ 0x50
SEL_NP     equ 0x58
SEL_CONF0  equ 0x60
SEL_TSS3   equ 0x68

mb_header:
    dd 0x1badb002
    dd 0x00010000
    dd -(0x1badb002 + 0x00010000)
    dd mb_header            ; header_addr
    dd mb_header            ; load_addr
    dd 0                    ; load_end_addr: the whole file
    dd 0                    ; bss_end_addr: none
    dd _start               ; entry_addr

_start:
    cmp eax, 0x2badb002
    jne .bad_magic
    mov [mb_info], ebx
    mov esp, stack0_top
    lgdt [gdt_ptr]
    jmp SEL_CODE0:.reload
.reload:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    call setup_tss
    call setup_idt
    mov ax, SEL_TSS
    ltr ax
    call main
    mov al, 0
    out EXIT_PORT, al
.hang:
    hlt
    jmp .hang
.bad_magic:
    mov al, 0x7e
    out EXIT_PORT, al
    jmp .hang

; Fills a GDT descriptor: edi = slot address, eax = base, ebx = limit (20 bits), cl = access, ch = flags << 4.
set_descriptor:
    push eax
    push ebx
    mov [edi], bx
    mov [edi + 2], ax
    shr eax, 16
    mov [edi + 4], al
    mov [edi + 7], ah
    mov [edi + 5], cl
    shr ebx, 16
    and bl, 0x0f
    and ch, 0xf0
    or bl, ch
    mov [edi + 6], bl
    pop ebx
    pop eax
    ret

setup_tss:
    mov dword [tss + 4], stack0_top       ; ESP0
    mov dword [tss + 8], SEL_DATA0        ; SS0
    mov word [tss + 102], iomap - tss     ; I/O map base
    ; Deny every port, then allow the debug console and port 0x80.
    mov edi, iomap
    mov ecx, 8192 / 4
    mov eax, 0xffffffff
    rep stosd
    mov byte [iomap + 8192], 0xff
    ; BTR with a register offset reaches past the first dword (an immediate offset wraps at 32).
    mov eax, DEBUGCON
    btr dword [iomap], eax
    mov eax, 0x80
    btr dword [iomap], eax
    mov edi, gdt + SEL_TSS
    mov eax, tss
    mov ebx, iomap + 8192 - tss
    mov cx, 0x0089
    call set_descriptor
    ret

setup_idt:
    xor ecx, ecx
.loop:
    mov eax, [isr_table + ecx * 4]
    mov [idt + ecx * 8], ax
    mov word [idt + ecx * 8 + 2], SEL_CODE0
    mov word [idt + ecx * 8 + 4], 0x8e00  ; present, DPL 0, 32-bit interrupt gate
    shr eax, 16
    mov [idt + ecx * 8 + 6], ax
    inc ecx
    cmp ecx, 32
    jb .loop
    ; INT 0x80: a DPL 3 trap gate, callable from ring 3.
    mov eax, syscall_handler
    mov [idt + 0x80 * 8], ax
    mov word [idt + 0x80 * 8 + 2], SEL_CODE0
    mov word [idt + 0x80 * 8 + 4], 0xef00
    shr eax, 16
    mov [idt + 0x80 * 8 + 6], ax
    lidt [idt_ptr]
    ret

; Exception stubs: push a zero error code where the CPU pushes none, then the vector.
%assign i 0
%rep 32
isr_ %+ i:
%if i == 8 || (i >= 10 && i <= 14) || i == 17
%else
    push 0
%endif
    push i
    jmp isr_common
%assign i i + 1
%endrep

isr_table:
%assign i 0
%rep 32
    dd isr_ %+ i
%assign i i + 1
%endrep

; Records the exception and resumes at [resume_eip] (cleared on use); without one it is fatal.
isr_common:
    pushad
    push ds
    mov ax, SEL_DATA0
    mov ds, ax
    mov eax, [esp + 36]
    mov [last_vector], eax
    mov eax, [esp + 40]
    mov [last_error], eax
    mov eax, [esp + 44]
    mov [last_eip], eax
    mov eax, [esp + 48]
    mov [last_cs], eax
    mov eax, cr2
    mov [last_cr2], eax
    inc dword [fault_count]
    mov eax, [resume_eip]
    test eax, eax
    jz .fatal
    mov [esp + 44], eax
    mov dword [resume_eip], 0
    pop ds
    popad
    add esp, 8
    iret
.fatal:
    mov esi, msg_unexpected
    call puts
    mov eax, [last_vector]
    call puthex
    mov esi, msg_err
    call puts
    mov eax, [last_error]
    call puthex
    mov esi, msg_at
    call puts
    mov eax, [last_cs]
    call puthex
    mov al, ':'
    out DEBUGCON, al
    mov eax, [last_eip]
    call puthex
    call newline
    mov al, 0x7f
    out EXIT_PORT, al
.hang:
    hlt
    jmp .hang

; INT 0x80: returns EAX + 1 and records the caller's CS and the handler's stack pointer.
syscall_handler:
    push ds
    push SEL_DATA0
    pop ds
    mov ebx, [esp + 8]          ; CS of the caller
    mov [last_cs], ebx
    mov ebx, esp
    mov [syscall_esp], ebx
    pop ds
    inc eax
    iret

; Prints the zero-terminated string at esi.
puts:
    push eax
    push esi
.next:
    lodsb
    test al, al
    jz .done
    out DEBUGCON, al
    jmp .next
.done:
    pop esi
    pop eax
    ret

; Prints eax as 8 hex digits.
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
    out DEBUGCON, al
    loop .digit
    pop edx
    pop ecx
    pop eax
    ret

newline:
    push eax
    mov al, 10
    out DEBUGCON, al
    pop eax
    ret

; Prints "<label> v=<vector> e=<error> cr2=<cr2>" for the last exception (label in esi).
report_fault:
    call puts
    push esi
    mov esi, msg_v
    call puts
    mov eax, [last_vector]
    call puthex
    mov esi, msg_e
    call puts
    mov eax, [last_error]
    call puthex
    mov esi, msg_cr2
    call puts
    mov eax, [last_cr2]
    call puthex
    call newline
    pop esi
    ret

; Prints the label in esi, "=", eax in hex and a newline.
report_value:
    call puts
    push esi
    mov esi, msg_eq
    call puts
    pop esi
    call puthex
    jmp newline

msg_unexpected: db "unexpected exception ", 0
msg_err: db " error ", 0
msg_at: db " at ", 0
msg_v: db " v=", 0
msg_e: db " e=", 0
msg_cr2: db " cr2=", 0
msg_eq: db "=", 0

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff       ; 0x08 code, ring 0, flat
    dq 0x00cf92000000ffff       ; 0x10 data, ring 0, flat
    dq 0x00cffa000000ffff       ; 0x18 code, ring 3, flat
    dq 0x00cff2000000ffff       ; 0x20 data, ring 3, flat
    dq 0                        ; 0x28 TSS (filled in)
    dq 0x00009a000000ffff       ; 0x30 code, 16-bit, base 0, limit 0xffff
    dq 0x000092000000ffff       ; 0x38 data, 16-bit, base 0, limit 0xffff
    dq 0                        ; 0x40 call gate (programs fill it)
    dq 0                        ; 0x48 second TSS (programs fill it)
    dq 0                        ; 0x50 task gate (programs fill it)
    dq 0x00cf12000000ffff       ; 0x58 data, not present
    dq 0x00cf9e000000ffff       ; 0x60 conforming code, ring 0
    dq 0                        ; 0x68 third TSS (programs fill it)
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt
idt_ptr:
    dw 256 * 8 - 1
    dd idt

align 4
mb_info:     dd 0
resume_eip:  dd 0
fault_count: dd 0
last_vector: dd 0
last_error:  dd 0
last_eip:    dd 0
last_cs:     dd 0
last_cr2:    dd 0
syscall_esp: dd 0
