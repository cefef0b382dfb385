; A Multiboot kernel in ELF form (nasm -f elf32, ld -m elf_i386): checks the boot state and prints
; the command line and memory information the loader passed.
section .text
global _start
align 4
mb_header:
    dd 0x1badb002
    dd 0x00000003                   ; page-align modules, memory information
    dd -(0x1badb002 + 0x00000003)

_start:
    mov esp, stack_top
    cmp eax, 0x2badb002
    jne fail
    mov esi, msg_magic
    call puts
    mov esi, [ebx + 16]             ; command line
    call puts
    mov eax, [ebx + 8]              ; mem_upper in KiB
    call puthex
    mov eax, [ebx + 44]             ; mmap_length
    call puthex
    mov eax, [ebx + 48]
    mov eax, [eax + 20 + 24 * 3]    ; type of the fourth region (RAM above 1 MiB)
    call puthex
    mov eax, cs
    call puthex
    mov eax, cr0
    and eax, 0x80000001
    call puthex
    mov al, 3
    out 0xf4, al
fail:
    mov al, 0x7e
    out 0xf4, al
    hlt

puts:
    lodsb
    test al, al
    jz .done
    out 0xe9, al
    jmp puts
.done:
    mov al, 10
    out 0xe9, al
    ret

puthex:
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
    out 0xe9, al
    loop .digit
    mov al, 10
    out 0xe9, al
    ret

section .data
msg_magic: db "multiboot magic ok", 0

section .bss
resb 4096
stack_top:
