; The PC platform under the run loop: programs the 8259A pair as Linux does (vectors 30h/38h), PIT
; channel 0 at 100 Hz and the RTC's periodic interrupt at 2 Hz, then counts IRQ 0 ticks in an
; STI;HLT loop. Reports the ticks, the RTC interrupts, the TSC cycles the loop took and the RTC
; seconds before and after.
%include "mb32-head.asm"

%ifndef TICKS
%define TICKS 150
%endif
%ifndef MASTER_MASK
%define MASTER_MASK 0xfa        ; IRQ 0 and the cascade
%endif
PIT_LATCH equ 11932             ; 1193182 Hz / 100

main:
    mov eax, irq0
    mov edi, idt + 0x30 * 8
    call set_gate
    mov eax, irq8
    mov edi, idt + 0x38 * 8
    call set_gate

    mov al, 0x00
    out 0x70, al
    in al, 0x71
    mov [sec0], al

    ; init_8259A: masks, ICW1-ICW4 for master and slave, then the masks in use.
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    mov al, 0x11
    out 0x20, al
    mov al, 0x30
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0x11
    out 0xa0, al
    mov al, 0x38
    out 0xa1, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0xa1, al
    mov al, MASTER_MASK
    out 0x21, al
    mov al, 0xfe                ; IRQ 8
    out 0xa1, al

    ; RTC: 2 Hz periodic rate, PIE, 24 hour BCD.
    mov al, 0x0a
    out 0x70, al
    mov al, 0x2f
    out 0x71, al
    mov al, 0x0b
    out 0x70, al
    mov al, 0x42
    out 0x71, al

    ; PIT channel 0: LSB/MSB, mode 2, binary.
    mov al, 0x34
    out 0x43, al
    mov al, PIT_LATCH & 0xff
    out 0x40, al
    mov al, PIT_LATCH >> 8
    out 0x40, al

    rdtsc
    mov [tsc0], eax
    mov [tsc0 + 4], edx
    sti
.wait:
    hlt
    cmp dword [ticks], TICKS
    jb .wait
    cli
    rdtsc
    sub eax, [tsc0]
    sbb edx, [tsc0 + 4]
    mov [cycles], eax

    mov al, 0x00
    out 0x70, al
    in al, 0x71
    mov [sec1], al

    mov esi, t_ticks
    mov eax, [ticks]
    call report_value
    mov esi, t_rtc
    mov eax, [rtc_irqs]
    call report_value
    mov esi, t_cycles
    mov eax, [cycles]
    call report_value
    mov esi, t_sec0
    movzx eax, byte [sec0]
    call report_value
    mov esi, t_sec1
    movzx eax, byte [sec1]
    call report_value
    ret

; edi = IDT entry, eax = handler: a 32-bit ring 0 interrupt gate.
set_gate:
    mov [edi], ax
    mov word [edi + 2], SEL_CODE0
    mov word [edi + 4], 0x8e00
    shr eax, 16
    mov [edi + 6], ax
    ret

irq0:
    push eax
    inc dword [ticks]
    mov al, 0x60                ; specific EOI for IRQ 0
    out 0x20, al
    pop eax
    iret

irq8:
    push eax
    mov al, 0x0c                ; register C acknowledges the RTC
    out 0x70, al
    in al, 0x71
    inc dword [rtc_irqs]
    mov al, 0x60                ; specific EOI: slave IR0, then the master's cascade IR2
    out 0xa0, al
    mov al, 0x62
    out 0x20, al
    pop eax
    iret

t_ticks:  db "ticks", 0
t_rtc:    db "rtc", 0
t_cycles: db "cycles", 0
t_sec0:   db "sec0", 0
t_sec1:   db "sec1", 0

align 4
ticks:    dd 0
rtc_irqs: dd 0
tsc0:     dq 0
cycles:   dd 0
sec0:     db 0
sec1:     db 0

%include "mb32-tail.asm"
