; A one-shot PIT interrupt (mode 0, 1000 ticks = 838 us) while the CPU spins: the loop counts its
; iterations until the interrupt handler sets a flag, so the count tells when IRQ 0 arrived.
; With DELAY defined, the spin loop has a PAUSE, and before it a delay loop polls the TSC with a PAUSE
; between the reads until DELAY ticks have passed, as Linux's delay_tsc does, and reports its rounds.
%include "mb32-head.asm"

main:
%ifdef DELAY
    rdtsc
    mov esi, eax
    xor ecx, ecx
.delay:
    inc ecx
    pause
    rdtsc
    sub eax, esi
    cmp eax, DELAY
    jb .delay
    mov esi, t_delay
    mov eax, ecx
    call report_value
%endif
    mov eax, irq0
    mov [idt + 0x30 * 8], ax
    mov word [idt + 0x30 * 8 + 2], SEL_CODE0
    mov word [idt + 0x30 * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + 0x30 * 8 + 6], ax
    mov al, 0x11
    out 0x20, al
    mov al, 0x30
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0xfe
    out 0x21, al
    sti
    mov al, 0x30                ; channel 0, LSB/MSB, mode 0
    out 0x43, al
    mov al, 1000 & 0xff
    out 0x40, al
    mov al, 1000 >> 8
    out 0x40, al
    xor ecx, ecx
.spin:
    inc ecx
%ifdef DELAY
    pause
%endif
    cmp byte [fired], 0
    je .spin
    mov esi, t_spins
    mov eax, ecx
    call report_value
    ret

irq0:
    mov byte [fired], 1
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iret

t_spins: db "spins", 0
t_delay: db "delay", 0
fired:   db 0

%include "mb32-tail.asm"
