; Enters an ACPI sleep state the way ACPICA's legacy sleep path does: clear WAK_STS in PM1a_STS,
; write SLP_TYP to PM1a_CNT, then SLP_TYP | SLP_EN. The type is 5 (the DSDT's \_S5) unless
; -DSLP_TYP=n says otherwise. With -DRESET it writes RESET_VALUE to the FADT's RESET_REG instead.
; A request the machine ignores falls through to the exit port: status (1 << 1) | 1 = 3.
%include "mb32-head.asm"

%ifndef SLP_TYP
%define SLP_TYP 5
%endif

main:
%ifdef RESET
    mov dx, 0x60c
    mov al, 0x06
    out dx, al
%else
    mov dx, 0x600
    mov ax, 0x8000
    out dx, ax
    mov dx, 0x604
    in ax, dx
    and ax, 0xe3ff
    or ax, SLP_TYP << 10
    out dx, ax
    or ax, 1 << 13
    out dx, ax
%endif
    mov al, 1
    out EXIT_PORT, al
.hang:
    jmp .hang

%include "mb32-tail.asm"
