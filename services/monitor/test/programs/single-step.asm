; EFLAGS.TF: a #DB trap after each instruction with DR6.BS set and the saved EIP on the next
; instruction; none for the POPF that sets TF or inside an INT handler (TF is cleared on entry).
%include "mb32-head.asm"

main:
    mov eax, db_handler
    mov [idt + 1 * 8], ax
    shr eax, 16
    mov [idt + 1 * 8 + 6], ax
    pushfd
    or dword [esp], 0x100
    popfd
step1:
    nop
step2:
    mov eax, 1
step3:
    int 0x80
step4:
    add eax, 2
step5:
    nop
step6:
    nop
    mov eax, [steps]
    mov esi, t_steps
    call report_value
    xor ecx, ecx
.list:
    mov eax, [trap_eips + ecx * 4]
    mov esi, t_eip
    call report_value
    inc ecx
    cmp ecx, [steps]
    jb .list
    mov eax, [dr6_seen]
    and eax, 0x4000
    mov esi, t_bs
    call report_value
    pushfd
    pop eax
    and eax, 0x100
    mov esi, t_tf
    call report_value
    ret

; Records the trap EIP; after four traps it clears TF in the saved EFLAGS.
db_handler:
    push eax
    push ecx
    mov ecx, [steps]
    mov eax, [esp + 8]
    mov [trap_eips + ecx * 4], eax
    inc ecx
    mov [steps], ecx
    mov eax, dr6
    mov [dr6_seen], eax
    cmp ecx, 4
    jb .done
    and dword [esp + 16], ~0x100
.done:
    pop ecx
    pop eax
    iret

t_steps: db "traps", 0
t_eip: db "trap eip", 0
t_bs: db "dr6.bs", 0
t_tf: db "tf", 0

align 4
steps: dd 0
dr6_seen: dd 0
trap_eips: times 8 dd 0

%include "mb32-tail.asm"
