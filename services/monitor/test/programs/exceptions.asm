; Exceptions in 32-bit protected mode at ring 0: vector, error code and the saved EIP.
%include "mb32-head.asm"

%macro EXPECT_FAULT 1
    mov dword [resume_eip], %1
%endmacro

main:
    ; #DE: the saved EIP is the DIV itself.
    EXPECT_FAULT .de_done
    xor edx, edx
    mov eax, 1
    xor ecx, ecx
.de_insn:
    div ecx
.de_done:
    mov esi, t_de
    call report_fault
    mov eax, [last_eip]
    sub eax, .de_insn
    mov esi, t_eip
    call report_value

    ; #UD
    EXPECT_FAULT .ud_done
    ud2
.ud_done:
    mov esi, t_ud
    call report_fault

    ; #NP(selector) when loading a not-present data segment.
    EXPECT_FAULT .np_done
    mov ax, SEL_NP
    mov ds, ax
.np_done:
    mov esi, t_np
    call report_fault

    ; #GP(selector) when loading a code segment into SS, and when the RPL is wrong.
    EXPECT_FAULT .gp1_done
    mov ax, SEL_CODE0
    mov ss, ax
.gp1_done:
    mov esi, t_gp_ss
    call report_fault
    EXPECT_FAULT .gp2_done
    mov ax, SEL_DATA0 | 3
    mov ss, ax
.gp2_done:
    mov esi, t_gp_rpl
    call report_fault

    ; #GP(0) through a null data segment; the load itself is fine.
    xor ax, ax
    mov es, ax
    EXPECT_FAULT .gp3_done
    mov eax, [es:0x1000]
.gp3_done:
    mov esi, t_gp_null
    call report_fault

    ; #GP(selector) beyond the GDT limit.
    EXPECT_FAULT .gp4_done
    mov ax, 0x1f8
    mov fs, ax
.gp4_done:
    mov esi, t_gp_limit
    call report_fault

    ; #SS(0): an access past the limit of a 16-bit stack segment (the handler still has room).
    mov ebx, esp
    mov ax, SEL_DATA16
    mov ss, ax
    mov esp, 0x6000
    EXPECT_FAULT .ss_done
    mov eax, [ss:0xfffe]
.ss_done:
    mov ax, SEL_DATA0
    mov ss, ax
    mov esp, ebx
    mov esi, t_ss
    call report_fault

    ; #GP(0) for a segment limit overrun through DS (16-bit data segment, offset 0xffff, dword).
    EXPECT_FAULT .gp5_done
    mov ax, SEL_DATA16
    mov ds, ax
    mov eax, [0xfffe]
.gp5_done:
    mov ax, SEL_DATA0
    mov ds, ax
    mov esi, t_gp_lim
    call report_fault

    ; #BR from BOUND.
    EXPECT_FAULT .br_done
    mov eax, 10
    bound eax, [bounds]
.br_done:
    mov esi, t_br
    call report_fault

    ; #GP(0) for a reserved CR4 bit.
    EXPECT_FAULT .cr4_done
    mov eax, 0x20
    mov cr4, eax
.cr4_done:
    mov esi, t_cr4
    call report_fault

    ; INT3 and INTO are traps: the saved EIP is the next instruction.
    EXPECT_FAULT .bp_done
    int3
.bp_next:
.bp_done:
    mov esi, t_bp
    call report_fault
    mov eax, [last_eip]
    sub eax, .bp_next
    mov esi, t_eip
    call report_value
    mov al, 0x7f
    add al, 1
    EXPECT_FAULT .of_done
    into
.of_done:
    mov esi, t_of
    call report_fault

    ; LOCK on a register destination is #UD.
    EXPECT_FAULT .lock_done
    db 0xf0, 0x01, 0xc0          ; lock add eax, eax
.lock_done:
    mov esi, t_lock
    call report_fault

    ; Far jump to a not-present... conforming code segment at ring 0 is fine: it returns here.
    jmp SEL_CONF0:.conf
.conf:
    mov eax, cs
    mov esi, t_cs
    call report_value
    jmp SEL_CODE0:.back
.back:
    mov eax, [fault_count]
    mov esi, t_count
    call report_value
    ret

t_de: db "DE", 0
t_eip: db "eip delta", 0
t_ud: db "UD", 0
t_np: db "NP", 0
t_gp_ss: db "GP code in SS", 0
t_gp_rpl: db "GP SS rpl", 0
t_gp_null: db "GP null ES", 0
t_gp_limit: db "GP beyond GDT", 0
t_ss: db "SS", 0
t_gp_lim: db "GP limit", 0
t_br: db "BR", 0
t_cr4: db "GP cr4", 0
t_bp: db "BP", 0
t_of: db "OF", 0
t_lock: db "UD lock", 0
t_cs: db "cs", 0
t_count: db "faults", 0
align 4
bounds: dd 0, 5

%include "mb32-tail.asm"
