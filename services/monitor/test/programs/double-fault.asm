; Double fault: a #GP whose gate is not present raises #NP during delivery, which becomes #DF
; (error code 0). Then, with an IDT too short for any gate, an exception escalates to a triple
; fault and the machine shuts down.
%include "mb32-head.asm"

main:
    and byte [idt + 13 * 8 + 5], 0x7f      ; #GP gate not present
    mov dword [resume_eip], .after_df
    mov ax, 0x1f8
    mov fs, ax                              ; #GP -> #NP while delivering it -> #DF
.after_df:
    mov esi, t_df
    call report_fault
    ; An IDT limit of 0: INT3 -> #GP -> #GP while delivering -> #DF -> fault again: shutdown.
    mov esi, t_triple
    call puts
    call newline
    lidt [empty_idt]
    int3
    mov esi, t_survived
    call puts
    call newline
    ret

t_df: db "DF", 0
t_triple: db "going for a triple fault", 0
t_survived: db "still running", 0
empty_idt:
    dw 0
    dd 0

%include "mb32-tail.asm"
