; Privilege levels: IRET to ring 3, a DPL 3 trap gate with a stack switch through the TSS,
; privileged and IOPL-sensitive instructions at CPL 3, the I/O permission bitmap, segment loads that
; the privilege forbids, and a call gate with a parameter back to ring 0.
%include "mb32-head.asm"

%macro EXPECT_FAULT 1
    mov dword [resume_eip], %1
%endmacro

main:
    ; Call gate 0x40: 32-bit, DPL 3, one parameter, to SEL_CODE0:gate_target.
    mov eax, gate_target
    mov [gdt + SEL_CALLG], ax
    mov word [gdt + SEL_CALLG + 2], SEL_CODE0
    mov byte [gdt + SEL_CALLG + 4], 1
    mov byte [gdt + SEL_CALLG + 5], 0xec
    shr eax, 16
    mov [gdt + SEL_CALLG + 6], ax
    mov [ring0_esp], esp
    ; Ring-0 entries from ring 3 get a stack of their own, so main's frame survives.
    mov dword [tss + 4], kstack_top
    ; DS stays a DPL 0 selector: the IRET to ring 3 must make it null.
    push SEL_DATA3
    push user_stack_top
    push 0x002
    push SEL_CODE3
    push user_code
    iret

back_in_ring0:
    mov esp, [ring0_esp]
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    mov eax, cs
    mov esi, t_back
    call report_value
    mov eax, [fault_count]
    mov esi, t_count
    call report_value
    ret

user_code:
    mov ebx, ds
    mov ax, SEL_DATA3
    mov ds, ax
    mov es, ax
    mov eax, ebx
    mov esi, t_ds_null
    call report_value
    mov eax, cs
    mov esi, t_cs
    call report_value

    ; INT 0x80 through a DPL 3 gate: ring 0 on the TSS stack.
    mov eax, 41
    int 0x80
    mov esi, t_int80
    call report_value
    mov eax, [last_cs]
    mov esi, t_int80_cs
    call report_value
    mov eax, [syscall_esp]
    sub eax, kstack_top
    mov esi, t_int80_esp
    call report_value

    ; INT through a DPL 0 gate from ring 3: #GP(vector * 8 + 2).
    EXPECT_FAULT .int_done
    int 0x0d
.int_done:
    mov esi, t_int_dpl
    call report_fault

    EXPECT_FAULT .hlt_done
    hlt
.hlt_done:
    mov esi, t_hlt
    call report_fault
    EXPECT_FAULT .cli_done
    cli
.cli_done:
    mov esi, t_cli
    call report_fault
    EXPECT_FAULT .cr0_done
    mov eax, cr0
.cr0_done:
    mov esi, t_cr0
    call report_fault
    EXPECT_FAULT .popf_done
    pushfd
    or dword [esp], 0x3000          ; IOPL 3: silently kept at 0 for CPL 3
    popfd
    pushfd
    pop eax
    and eax, 0x3000
    mov esi, t_popf
    call report_value
.popf_done:

    ; The I/O bitmap allows port 0x80 but not 0x81 (IOPL 0 < CPL 3).
    in al, 0x80
    EXPECT_FAULT .io_done
    in al, 0x81
.io_done:
    mov esi, t_io
    call report_fault
    EXPECT_FAULT .io2_done
    in ax, 0x7f                     ; a word access needs both bits clear
.io2_done:
    mov esi, t_io2
    call report_fault

    ; A DPL 0 data segment cannot be loaded at CPL 3; neither can a DPL 0 stack.
    EXPECT_FAULT .fs_done
    mov ax, SEL_DATA0
    mov fs, ax
.fs_done:
    mov esi, t_fs
    call report_fault
    EXPECT_FAULT .ss_done
    mov ax, SEL_DATA0
    mov ss, ax
.ss_done:
    mov esi, t_ss
    call report_fault

    ; Far call through the call gate: the parameter is copied to the ring-0 stack.
    push 0x1234abcd
    call SEL_CALLG:0
    mov eax, cs
    mov esi, t_after_cs
    call report_value
    mov eax, ss
    mov esi, t_after_ss
    call report_value
    mov eax, esp
    sub eax, user_stack_top
    mov esi, t_after_esp
    call report_value
    mov eax, [gate_cs]
    mov esi, t_gate_cs
    call report_value
    mov eax, [gate_ss]
    mov esi, t_gate_ss
    call report_value
    mov eax, [gate_param]
    mov esi, t_gate_param
    call report_value
    mov eax, [gate_old_cs]
    mov esi, t_gate_old_cs
    call report_value
    mov eax, [gate_old_ss]
    mov esi, t_gate_old_ss
    call report_value

    ; Leave ring 3 through the gate for good.
    mov eax, -1
    push 0
    call SEL_CALLG:0

gate_target:
    cmp eax, -1
    je back_in_ring0
    push ds
    push SEL_DATA0
    pop ds
    mov ebx, cs
    mov [gate_cs], ebx
    mov ebx, ss
    mov [gate_ss], ebx
    mov ebx, [esp + 12]
    mov [gate_param], ebx
    mov ebx, [esp + 8]
    mov [gate_old_cs], ebx
    mov ebx, [esp + 20]
    mov [gate_old_ss], ebx
    pop ds
    retf 4

t_ds_null: db "ds after iret", 0
t_cs: db "cs", 0
t_int80: db "int80 eax", 0
t_int80_cs: db "int80 caller cs", 0
t_int80_esp: db "int80 esp", 0
t_int_dpl: db "GP int 0d", 0
t_hlt: db "GP hlt", 0
t_cli: db "GP cli", 0
t_cr0: db "GP mov cr0", 0
t_popf: db "iopl after popf", 0
t_io: db "GP in 81", 0
t_io2: db "GP in 7f word", 0
t_fs: db "GP fs dpl0", 0
t_ss: db "GP ss dpl0", 0
t_after_cs: db "after gate cs", 0
t_after_ss: db "after gate ss", 0
t_after_esp: db "after gate esp", 0
t_gate_cs: db "gate cs", 0
t_gate_ss: db "gate ss", 0
t_gate_param: db "gate param", 0
t_gate_old_cs: db "gate old cs", 0
t_gate_old_ss: db "gate old ss", 0
t_back: db "back in ring 0 cs", 0
t_count: db "faults", 0

align 4
ring0_esp: dd 0
gate_cs: dd 0
gate_ss: dd 0
gate_param: dd 0
gate_old_cs: dd 0
gate_old_ss: dd 0

%include "mb32-tail.asm"
user_stack: times 4096 db 0
user_stack_top:
kstack: times 4096 db 0
kstack_top:
