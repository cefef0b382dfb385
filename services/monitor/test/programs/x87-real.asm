; A 64 KiB BIOS image: the x87 in real mode, where FSTENV/FSAVE keep 20-bit linear instruction
; and operand pointers (SDM vol. 1, figures 8-10 and 8-12), in the 16- and 32-bit formats.
bits 16
org 0

DEBUGCON  equ 0xe9
EXIT_PORT equ 0xf4
DATA_SEG  equ 0x1234

start:
    cli
    xor ax, ax
    mov ss, ax
    mov sp, 0x7c00
    mov es, ax
    mov ax, DATA_SEG
    mov ds, ax
    mov ax, load16
    call puthex4
    mov ax, load32
    call puthex4
    fninit
    mov dword [0x10], 0x40490fdb    ; pi as a float32
load16:
    fld dword [0x10]
    fnstenv [es:0x500]              ; 16-bit format
    mov di, 0x500 + 6
    mov cx, 4
.words:
    mov ax, [es:di]
    call puthex4
    add di, 2
    loop .words
load32:
    o32 fadd dword [0x10]
    o32 fnstenv [es:0x600]          ; 32-bit format
    mov di, 0x600 + 12
    mov cx, 4
.dwords:
    mov eax, [es:di]
    ror eax, 16
    call puthex4
    ror eax, 16
    call puthex4
    add di, 4
    loop .dwords
    fistp word [es:0x700]
    mov ax, [es:0x700]
    call puthex4
    mov al, 0
    out EXIT_PORT, al
.hang:
    hlt
    jmp .hang

; Prints AX as 4 hex digits and a newline; keeps EAX and CX.
puthex4:
    push eax
    push cx
    mov dx, ax
    mov cx, 4
.digit:
    rol dx, 4
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
    pop cx
    pop eax
    ret

    times 0xfff0 - ($ - $$) db 0
reset:
    jmp 0xf000:start
    times 0x10000 - ($ - $$) db 0
