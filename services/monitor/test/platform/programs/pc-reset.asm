; Reboots the way Linux's reboot=kbd does: 8042 command FEh (or port 92h bit 0 with -DPORT92).
%include "mb32-head.asm"

main:
%ifdef PORT92
    in al, 0x92
    or al, 1
    out 0x92, al
%else
    mov al, 0xfe
    out 0x64, al
%endif
.hang:
    jmp .hang

%include "mb32-tail.asm"
