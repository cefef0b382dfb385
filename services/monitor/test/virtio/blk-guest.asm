; A guest-side virtio-blk driver (Multiboot, flat 32-bit, nasm -f bin): finds the transitional
; virtio-blk function on PCI bus 0 through configuration mechanism #1, brings it up through the
; legacy registers of BAR 0, reads sector 1 with one three-descriptor request, polls the used ring,
; checks the status byte, the used length and the ISR, prints the sector's first 32 bytes on the
; debug console and exits through port 0xF4 with 0 (or a step number on failure).
bits 32
org 0x100000

DEBUGCON  equ 0xe9
EXIT_PORT equ 0xf4
RING      equ 0x200000          ; queue area (PFN 0x200)
HEADER    equ 0x210000
DATA      equ 0x211000
STATUS    equ 0x212000

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
    ; Find 1AF4:1001 in slots 0-31.
    xor ebx, ebx
.scan:
    mov eax, ebx
    shl eax, 11
    or eax, 0x80000000
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    cmp eax, 0x10011af4
    je .found
    inc ebx
    cmp ebx, 32
    jb .scan
    mov al, 1
    jmp fail
.found:
    mov eax, ebx
    shl eax, 11
    or eax, 0x80000010          ; BAR 0
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    test al, 1                  ; an I/O BAR
    mov al, 2
    jz fail
    in eax, dx
    and eax, 0xfffc
    mov ebp, eax                ; iobase

    ; Reset, ACKNOWLEDGE, DRIVER, no features.
    lea edx, [ebp + 0x12]
    mov al, 0
    out dx, al
    mov al, 1
    out dx, al
    mov al, 3
    out dx, al
    lea edx, [ebp + 0x04]
    xor eax, eax
    out dx, eax

    ; Queue 0: its size, then the ring area cleared and its PFN.
    lea edx, [ebp + 0x0e]
    xor eax, eax
    out dx, ax
    lea edx, [ebp + 0x0c]
    in ax, dx
    movzx esi, ax               ; queue size N
    test esi, esi
    mov al, 3
    jz fail
    mov edi, RING
    mov ecx, 0x4000 / 4
    xor eax, eax
    rep stosd
    lea edx, [ebp + 0x08]
    mov eax, RING >> 12
    out dx, eax
    lea edx, [ebp + 0x12]
    mov al, 7                   ; DRIVER_OK
    out dx, al

    ; The request: header (IN, sector 1), 512 data bytes, status byte.
    mov dword [HEADER], 0
    mov dword [HEADER + 4], 0
    mov dword [HEADER + 8], 1
    mov dword [HEADER + 12], 0
    mov byte [STATUS], 0xff
    mov edi, RING
    mov dword [edi + 0], HEADER
    mov dword [edi + 4], 0
    mov dword [edi + 8], 16
    mov word [edi + 12], 1      ; NEXT
    mov word [edi + 14], 1
    mov dword [edi + 16], DATA
    mov dword [edi + 20], 0
    mov dword [edi + 24], 512
    mov word [edi + 28], 3      ; NEXT | WRITE
    mov word [edi + 30], 2
    mov dword [edi + 32], STATUS
    mov dword [edi + 36], 0
    mov dword [edi + 40], 1
    mov word [edi + 44], 2      ; WRITE
    mov word [edi + 46], 0
    ; avail ring at RING + 16 * N: flags, idx, ring[0] = head 0.
    mov eax, esi
    shl eax, 4
    lea ebx, [RING + eax]
    mov word [ebx + 4], 0
    mov word [ebx + 2], 1
    lea edx, [ebp + 0x10]
    xor eax, eax
    out dx, ax                  ; notify queue 0

    ; used ring at the next 4 KiB boundary after desc + avail (16N + 6 + 2N).
    mov eax, esi
    imul eax, 18
    add eax, 6 + 4095
    and eax, ~4095
    lea ebx, [RING + eax]
.wait:
    pause
    cmp word [ebx + 2], 1
    jne .wait
    cmp dword [ebx + 4], 0      ; used id
    mov al, 4
    jne fail
    cmp dword [ebx + 8], 513    ; used length: data + status
    mov al, 5
    jne fail
    cmp byte [STATUS], 0
    mov al, 6
    jne fail
    lea edx, [ebp + 0x13]
    in al, dx                   ; ISR: queue interrupt, cleared by this read
    cmp al, 1
    mov al, 7
    jne fail
    in al, dx
    cmp al, 0
    mov al, 8
    jne fail

    mov esi, DATA
    mov ecx, 32
.print:
    lodsb
    out DEBUGCON, al
    loop .print
    mov al, 0
fail:
    out EXIT_PORT, al
.hang:
    hlt
    jmp .hang

align 16
    times 256 db 0
stack_top:
