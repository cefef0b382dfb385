; The x87 FPU through the CPU in 32-bit protected mode: reset state, arithmetic, conversions to
; integers in memory, the instruction/data pointers, FSAVE/FRSTOR in both formats, masked and
; unmasked exceptions (#MF with CR0.NE=1, FERR# with CR0.NE=0), #NM from CR0.EM/TS/MP, and
; memory faults that leave the FPU state alone. Each result is printed as "name=hex".
%include "mb32-head.asm"

%macro REPORT 2
    mov eax, %2
    jmp %%over
%%s: db %1, 0
%%over:
    mov esi, %%s
    call report_value
%endmacro

%macro EXPECT_FAULT 1
    mov dword [resume_eip], %1
    mov dword [last_vector], 0xff
%endmacro

main:
    ; ---- identification and reset state (before any FNINIT) ----
    mov eax, 1
    cpuid
    and edx, (1 << 24) | 1
    REPORT "cpuid_fpu_fxsr", edx
    mov eax, cr0
    shr eax, 4
    and eax, 1
    REPORT "cr0_et", eax
    fnstcw [cw]
    REPORT "reset_cw", [cw]
    fnstenv [env]
    REPORT "reset_sw", [env + 4]
    REPORT "reset_tw", [env + 8]

    ; ---- arithmetic: a sum, a square root, a product ----
    fninit
    fnstcw [cw]
    REPORT "init_cw", [cw]
    fldz
    mov ecx, 0
.sum:
    fadd qword [values + ecx * 8]
    inc ecx
    cmp ecx, 8
    jb .sum
    fstp qword [result]
    REPORT "sum_hi", [result + 4]
    REPORT "sum_lo", [result]

    ; Double precision control (0x27F), so the root is rounded once.
    fldcw [cw_double]
    fld qword [two]
    fsqrt
    fstp qword [result]
    REPORT "sqrt2_hi", [result + 4]
    REPORT "sqrt2_lo", [result]
    fldcw [cw_default]

    fld dword [three_f]
    fmul dword [quarter_f]
    fidiv word [minus_two_w]
    fstp dword [result]
    REPORT "mul_div_f32", [result]

    ; ---- conversions to integers in memory ----
    fld qword [x1234_75]
    fist dword [result]
    REPORT "fist_nearest", [result]
    fldcw [cw_chop]
    fistp dword [result]
    REPORT "fistp_chop", [result]
    fldcw [cw_default]
    fld qword [minus_2_5]
    fistp word [result]
    movzx eax, word [result]
    REPORT "fistp_m16_even", eax
    fild dword [big_int]
    fimul dword [three_i]
    fistp qword [result]
    REPORT "fistp_m64_hi", [result + 4]
    REPORT "fistp_m64_lo", [result]
    fild word [minus_two_w]
    fbstp [bcd]
    REPORT "fbstp_lo", [bcd]
    movzx eax, byte [bcd + 9]
    REPORT "fbstp_sign", eax
    fnstsw ax
    movzx eax, ax
    REPORT "sw_after_conv", eax

    ; ---- comparisons into EFLAGS and AX ----
    fld1
    fldz
    fcomip st0, st1             ; 0 < 1: CF=1, ZF=0
    setc al
    setz ah
    movzx eax, ax
    REPORT "fcomi_cf_zf", eax
    fcom dword [one_f]          ; 1 == 1: C3=1
    fnstsw ax
    and eax, 0x4500
    REPORT "fcom_c320", eax
    fstp st0

    ; ---- instruction and data pointers ----
    fninit
.ptr_insn:
    fld qword [ds:two]
    fnstenv [env]
    REPORT "ptr_fip_ok", [env + 12]
    REPORT "ptr_fip_label", .ptr_insn
    REPORT "ptr_fcs_fop", [env + 16]
    REPORT "ptr_fdp", [env + 20]
    REPORT "ptr_fdp_label", two
    REPORT "ptr_fds", [env + 24]
    ; A control instruction (FNSTCW) keeps the pointers of the last non-control one.
    fnstcw [cw]
    fnstenv [env]
    REPORT "ptr_fip_after_ctl", [env + 12]

    ; ---- FSAVE/FRSTOR, 32-bit format ----
    fninit
    fldpi
    fld1
    fsave [state]
    fnstsw ax                   ; FSAVE reinitialised: TOP=0
    movzx eax, ax
    REPORT "after_fsave_sw", eax
    REPORT "fsave_tw", [state + 8]
    frstor [state]
    fstp qword [result]
    REPORT "frstor_st0_hi", [result + 4]
    fstp qword [result]
    REPORT "frstor_st1_hi", [result + 4]
    REPORT "frstor_st1_lo", [result]

    ; ---- FSAVE/FRSTOR, 16-bit format (94 bytes: registers from offset 14) ----
    fninit
    fld qword [minus_2_5]
    o16 fnsave [state16]
    movzx eax, word [state16]
    REPORT "fsave16_cw", eax
    movzx eax, word [state16 + 14 + 8]
    REPORT "fsave16_st0_se", eax
    o16 frstor [state16]
    fistp dword [result]
    REPORT "frstor16_st0", [result]

    ; ---- FXSAVE/FXRSTOR (x87 part of the 512-byte image) ----
    mov eax, cr4
    or eax, 0x200               ; OSFXSR
    mov cr4, eax
    fninit
    fldpi
    fld1
    fxsave [fx_area]
    movzx eax, word [fx_area]
    REPORT "fxsave_cw", eax
    movzx eax, word [fx_area + 2]
    REPORT "fxsave_sw", eax
    movzx eax, byte [fx_area + 4]
    REPORT "fxsave_ftw", eax
    REPORT "fxsave_st0_hi", [fx_area + 32 + 4]
    movzx eax, word [fx_area + 32 + 8]
    REPORT "fxsave_st0_se", eax
    fninit
    fxrstor [fx_area]
    fstp qword [result]
    REPORT "fxrstor_st0_hi", [result + 4]
    fstp qword [result]
    REPORT "fxrstor_st1_hi", [result + 4]
    EXPECT_FAULT .fx_gp_done
    fxsave [fx_area + 8]
.fx_gp_done:
    REPORT "fxsave_misaligned", [last_vector]

    ; ---- masked divide by zero ----
    fninit
    fld1
    fldz
    fdivp st1, st0
    fnstsw ax
    movzx eax, ax
    REPORT "masked_zdiv_sw", eax
    fstp qword [result]
    REPORT "masked_zdiv_hi", [result + 4]

    ; ---- unmasked divide by zero, CR0.NE=1: #MF at the next waiting instruction ----
    mov eax, cr0
    or eax, 0x20
    mov cr0, eax
    fninit
    fldcw [cw_zm_clear]
    fld1
    fldz
    EXPECT_FAULT .mf1_done
    fdivp st1, st0              ; flags ZE and ES, no exception yet
    REPORT "mf_pending_vector", [last_vector]
.mf1_insn:
    fwait
.mf1_done:
    REPORT "mf_fwait_vector", [last_vector]
    mov eax, [last_eip]
    sub eax, .mf1_insn
    REPORT "mf_fwait_eip", eax
    ; An arithmetic instruction faults the same way, before it runs; FNSTSW does not wait.
    EXPECT_FAULT .mf2_done
.mf2_insn:
    fld1
.mf2_done:
    mov eax, [last_eip]
    sub eax, .mf2_insn
    REPORT "mf_fld_eip", eax
    fnstsw ax
    movzx eax, ax
    REPORT "mf_sw", eax
    ; #MF comes before the memory operand is touched (a null segment would #GP).
    xor eax, eax
    mov gs, eax
    EXPECT_FAULT .mf3_done
    fld dword [gs:0]
.mf3_done:
    REPORT "mf_before_mem_vector", [last_vector]
    fnclex
    fwait
    fstp st0
    fnstsw ax
    movzx eax, ax
    REPORT "mf_cleared_sw", eax

    ; ---- faulting memory operands leave the FPU unchanged ----
    fninit
    fld1
    EXPECT_FAULT .gp1_done
    fld qword [gs:8]
.gp1_done:
    REPORT "gp_load_vector", [last_vector]
    EXPECT_FAULT .gp2_done
    fstp qword [gs:8]
.gp2_done:
    REPORT "gp_store_vector", [last_vector]
    EXPECT_FAULT .gp3_done
    fnsave [gs:0]
.gp3_done:
    REPORT "gp_fnsave_vector", [last_vector]
    fnstenv [env]
    REPORT "gp_sw", [env + 4]
    REPORT "gp_tw", [env + 8]
    fstp st0
    mov ax, SEL_DATA0
    mov gs, ax

    ; ---- page faults on operands that cross into a not-present page ----
    call enable_paging
    fninit
    fld1
    fldpi
    mov dword [CROSS], 0x11223344
    EXPECT_FAULT .pf1_done
    fstp tword [CROSS]          ; 4 bytes before the page, 6 in it
.pf1_done:
    REPORT "pf_store_vector", [last_vector]
    REPORT "pf_store_error", [last_error]
    REPORT "pf_store_cr2", [last_cr2]
    REPORT "pf_store_untouched", [CROSS]
    EXPECT_FAULT .pf2_done
    fld tword [CROSS]
.pf2_done:
    REPORT "pf_load_vector", [last_vector]
    EXPECT_FAULT .pf3_done
    frstor [CROSS - 100]
.pf3_done:
    REPORT "pf_frstor_vector", [last_vector]
    fnstenv [env]
    REPORT "pf_sw", [env + 4]
    REPORT "pf_tw", [env + 8]
    fstp qword [result]
    REPORT "pf_st0_hi", [result + 4]
    fstp st0
    mov eax, cr0
    and eax, ~0x80000000
    mov cr0, eax

    ; ---- #NM: CR0.TS (lazy switching), CR0.EM, and WAIT with MP ----
    mov eax, cr0
    or eax, 0x08                ; TS
    and eax, ~0x06              ; MP=0, EM=0
    mov cr0, eax
    EXPECT_FAULT .nm1_done
.nm1_insn:
    fld1
.nm1_done:
    REPORT "nm_ts_vector", [last_vector]
    mov eax, [last_eip]
    sub eax, .nm1_insn
    REPORT "nm_ts_eip", eax
    EXPECT_FAULT .nm_fx_done
    fxsave [fx_area]
.nm_fx_done:
    REPORT "nm_ts_fxsave", [last_vector]
    mov dword [last_vector], 0xff
    fwait                       ; TS without MP: WAIT does not fault
    REPORT "nm_wait_no_mp", [last_vector]
    mov eax, cr0
    or eax, 0x02                ; MP
    mov cr0, eax
    EXPECT_FAULT .nm2_done
    fwait
.nm2_done:
    REPORT "nm_wait_mp_vector", [last_vector]
    clts
    mov dword [last_vector], 0xff
    fld1
    fistp dword [result]
    REPORT "after_clts", [result]
    mov eax, cr0
    or eax, 0x04                ; EM
    mov cr0, eax
    EXPECT_FAULT .nm3_done
    fninit
.nm3_done:
    REPORT "nm_em_vector", [last_vector]
    mov dword [last_vector], 0xff
    fwait                       ; EM does not affect WAIT
    REPORT "nm_em_wait", [last_vector]
    mov eax, cr0
    and eax, ~0x04
    mov cr0, eax

    ; ---- CR0.NE=0: FERR# stops the processor at the waiting instruction ----
    mov eax, cr0
    and eax, ~0x20
    mov cr0, eax
    fninit
    fldcw [cw_zm_clear]
    fld1
    fldz
    fdivp st1, st0
    mov dword [last_vector], 0xff
.ferr_insn:
    fwait                       ; the test asserts IGNNE# here and resumes
    REPORT "ferr_vector", [last_vector]
    fnclex
    fstp st0
    ret

; Identity-maps the first 4 MiB with 4 KiB pages, except the page at NOT_PRESENT.
enable_paging:
    mov ecx, 0
.pte:
    mov eax, ecx
    shl eax, 12
    or eax, 3
    mov [page_table + ecx * 4], eax
    inc ecx
    cmp ecx, 1024
    jb .pte
    mov dword [page_table + (NOT_PRESENT >> 12) * 4], 0
    mov dword [page_dir], page_table + 3
    mov eax, page_dir
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    ret

NOT_PRESENT equ 0x300000
CROSS       equ NOT_PRESENT - 4

align 8
values:      dq 1.5, 2.25, -0.125, 100.0, 0.0625, 7.0, -3.5, 1024.0
two:         dq 2.0
x1234_75:    dq 1234.75
minus_2_5:   dq -2.5
three_f:     dd 3.0
quarter_f:   dd 0.25
one_f:       dd 1.0
big_int:     dd 0x7fffffff
three_i:     dd 3
minus_two_w: dw -2
cw_default:  dw 0x037f
cw_double:   dw 0x027f
cw_chop:     dw 0x0f7f
cw_zm_clear: dw 0x037b
cw:          dd 0
align 8
result:      dq 0
bcd:         times 10 db 0
align 4
env:         times 28 db 0
state:       times 108 db 0
state16:     times 94 db 0
align 16
fx_area:     times 512 db 0
align 4096
page_dir:    times 1024 dd 0
page_table:  times 1024 dd 0

%include "mb32-tail.asm"
