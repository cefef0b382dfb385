; Position-independent code entered through the Linux 32-bit boot protocol (ESI = boot_params):
; prints the command line and the boot_params fields the loader filled, then ends through the exit
; port. Used both as the vmlinux of a synthetic bzImage and as its protected-mode part.
bits 32
start:
    mov ebx, [esi + 0x228]          ; cmd_line_ptr
.cmdline:
    mov al, [ebx]
    test al, al
    jz .fields
    out 0xe9, al
    inc ebx
    jmp .cmdline
.fields:
    mov al, 10
    out 0xe9, al
    movzx eax, byte [esi + 0x1e8]   ; e820_entries
    call hex
    mov eax, [esi + 0x2d0 + 3 * 20 + 8]  ; length of the fourth e820 region (RAM above 1 MiB)
    call hex
    mov eax, [esi + 0x21c]          ; ramdisk_size
    call hex
    mov ebx, [esi + 0x218]          ; ramdisk_image
    mov eax, [ebx]
    call hex
    mov eax, cs
    call hex
    movzx eax, byte [esi + 0x210]   ; type_of_loader
    call hex
    mov eax, [esi + 0x202]          ; "HdrS" copied from the setup header
    call hex
    mov al, 1
    out 0xf4, al
    hlt

; Prints EAX as eight hex digits and a newline.
hex:
    mov ecx, 8
.digit:
    rol eax, 4
    mov edx, eax
    and edx, 0xf
    add dl, '0'
    cmp dl, '9'
    jbe .out
    add dl, 7
.out:
    push eax
    mov al, dl
    out 0xe9, al
    pop eax
    loop .digit
    mov al, 10
    out 0xe9, al
    ret
