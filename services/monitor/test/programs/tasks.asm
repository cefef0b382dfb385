; Hardware task switches: CALL to a TSS (nesting, back link, NT, busy bits, CR0.TS), IRET back,
; JMP through a task gate and JMP back, and an exception delivered through a task gate with its
; error code on the handler task's stack.
%include "mb32-head.asm"

; Fills a 32-bit TSS at edi for a ring-0 task starting at eax with its stack top in ebx.
init_tss:
    mov [edi + 32], eax                 ; EIP
    mov dword [edi + 36], 0x2           ; EFLAGS
    mov [edi + 56], ebx                 ; ESP
    mov dword [edi + 72], SEL_DATA0     ; ES
    mov dword [edi + 76], SEL_CODE0     ; CS
    mov dword [edi + 80], SEL_DATA0     ; SS
    mov dword [edi + 84], SEL_DATA0     ; DS
    mov dword [edi + 88], SEL_DATA0     ; FS
    mov dword [edi + 92], SEL_DATA0     ; GS
    ret

; Prints the type nibble of the GDT descriptor at offset eax (9 = available, B = busy).
report_type:
    movzx eax, byte [gdt + eax + 5]
    and eax, 0x0f
    jmp report_value

main:
    mov edi, tss2
    mov eax, task_b
    mov ebx, stack_b_top
    call init_tss
    mov edi, tss3
    mov eax, task_c
    mov ebx, stack_c_top
    call init_tss
    mov edi, gdt + SEL_TSS2
    mov eax, tss2
    mov ebx, 103
    mov cx, 0x0089
    call set_descriptor
    mov edi, gdt + SEL_TSS3
    mov eax, tss3
    mov cx, 0x0089
    call set_descriptor
    ; Task gate 0x50 -> TSS2.
    mov dword [gdt + SEL_TASKG], SEL_TSS2 << 16
    mov dword [gdt + SEL_TASKG + 4], 0x00008500
    ; #GP goes through a task gate to TSS3.
    mov dword [idt + 13 * 8], SEL_TSS3 << 16
    mov dword [idt + 13 * 8 + 4], 0x00008500
    clts

    ; CALL a TSS: task B runs nested and returns with IRET.
    call SEL_TSS2:0
    mov esi, t_a1
    call puts
    call newline
    str ax
    movzx eax, ax
    mov esi, t_str
    call report_value
    pushfd
    pop eax
    and eax, 0x4000
    mov esi, t_nt
    call report_value
    smsw ax
    movzx eax, ax
    and eax, 8
    mov esi, t_ts
    call report_value
    mov eax, SEL_TSS2
    mov esi, t_type2
    call report_type
    mov eax, SEL_TSS
    mov esi, t_type1
    call report_type
    mov eax, [tss2 + 32]
    sub eax, task_b.after_iret
    mov esi, t_saved_eip
    call report_value

    ; JMP through the task gate: task B resumes after its IRET and jumps back.
    jmp SEL_TASKG:0
    mov esi, t_a2
    call puts
    call newline
    pushfd
    pop eax
    and eax, 0x4000
    mov esi, t_nt
    call report_value
    mov eax, SEL_TSS2
    mov esi, t_type2
    call report_type

    ; #GP through a task gate: task C receives the error code and moves our saved EIP on.
    mov ax, 0x1f8
    mov fs, ax
    jmp .no_gp
.after_gp:
    mov esi, t_a3
    call puts
    call newline
    mov eax, [gp_code]
    mov esi, t_gp_code
    call report_value
    mov eax, SEL_TSS3
    mov esi, t_type3
    call report_type
    ret
.no_gp:
    mov esi, t_no_gp
    call puts
    call newline
    ret

task_b:
    mov esi, t_b1
    call puts
    call newline
    pushfd
    pop eax
    and eax, 0x4000
    mov esi, t_nt
    call report_value
    movzx eax, word [tss2]
    mov esi, t_link
    call report_value
    str ax
    movzx eax, ax
    mov esi, t_str
    call report_value
    smsw ax
    movzx eax, ax
    and eax, 8
    mov esi, t_ts
    call report_value
    mov eax, SEL_TSS
    mov esi, t_type1
    call report_type
    clts
    iret
.after_iret:
    mov esi, t_b2
    call puts
    call newline
    pushfd
    pop eax
    and eax, 0x4000
    mov esi, t_nt
    call report_value
    mov eax, SEL_TSS
    mov esi, t_type1
    call report_type
    jmp SEL_TSS:0

task_c:
    mov eax, [esp]
    mov [gp_code], eax
    mov dword [tss + 32], main.after_gp
    iret
    jmp task_c

t_a1: db "A after call", 0
t_a2: db "A after jmp", 0
t_a3: db "A after GP task", 0
t_b1: db "B via call", 0
t_b2: db "B via task gate", 0
t_str: db "str", 0
t_nt: db "nt", 0
t_ts: db "cr0.ts", 0
t_link: db "back link", 0
t_type1: db "type A", 0
t_type2: db "type B", 0
t_type3: db "type C", 0
t_saved_eip: db "B saved eip delta", 0
t_gp_code: db "GP error code", 0
t_no_gp: db "no GP", 0

align 4
gp_code: dd 0
tss2: times 104 db 0
tss3: times 104 db 0

%include "mb32-tail.asm"
stack_b: times 2048 db 0
stack_b_top:
stack_c: times 2048 db 0
stack_c_top:
