; Read and access watchpoints (test/debug/watch.test.ts). The program first publishes the addresses
; the test needs in TABLE, writing TABLE+0 last so a write watch there stops it with the table complete.
; Each watched access is preceded by accesses the watch must not see: other bytes of the same page,
; and for the read watch a write.
%include "mb32-head.asm"

TABLE equ 0x7000

main:
    mov dword [TABLE + 4], after_read
    mov dword [TABLE + 8], after_access
    mov dword [TABLE + 12], after_movs
    mov dword [TABLE + 16], after_stos
    mov dword [TABLE + 20], after_edge
    mov dword [TABLE + 24], edge
    mov dword [TABLE], data
    mov eax, [data + 64]            ; same page as the watches, outside them
    mov ax, [data + 2]              ; ends just below data+4
    mov dword [data + 4], 7         ; a write: no read-watch hit
    mov eax, [data + 6]             ; read watch on data+4 (4 bytes): overlaps it
after_read:
    mov ebx, [data + 12]            ; access watch on data+8 (4 bytes): just above it
    add dword [data + 8], 1         ; access watch: read-modify-write
after_access:
    cld
    mov esi, data + 16
    mov edi, copy
    mov ecx, 32
    rep movsb                       ; read watch on data+40 (1 byte): the copy reads it
after_movs:
    mov edi, data + 48
    mov ecx, 8
    xor eax, eax
    rep stosd                       ; access watch on data+60: the fill writes it
after_stos:
    mov eax, [edge - 2]             ; one read split across two pages
after_edge:
    mov eax, [data + 6]             ; the read watch is gone by now: the program runs to its end
    mov esi, t_done
    call report_value
    ret

t_done: db "done", 0

align 4096
data:   times 128 db 0x11
copy:   times 64 db 0
align 4096, db 0x5a
edge:   dd 0x44332211

%include "mb32-tail.asm"
