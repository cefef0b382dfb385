; Self-modifying code: a routine runs often enough to be compiled, then the program rewrites its
; immediate operand and runs it again; the next instruction in the same block as the store must see
; the new bytes too.
%include "mb32-head.asm"

main:
    mov ecx, 100
.warm:
    call patched
    loop .warm
    mov esi, t_before
    call report_value               ; eax from the last call: 0x11111111
    mov dword [patched.imm], 0x22222222
    call patched
    mov esi, t_after
    call report_value               ; 0x22222222
    ; A store into the instruction right after it, in the same block.
    mov dword [.next + 1], 0x33333333
.next:
    mov eax, 0x44444444
    mov esi, t_same_block
    call report_value               ; 0x33333333
    ret

patched:
    mov eax, 0x11111111
.imm equ $ - 4
    ret

t_before: db "before", 0
t_after: db "after", 0
t_same_block: db "same block", 0

%include "mb32-tail.asm"
