; Waits in STI;HLT for three bytes on COM1 (receive interrupts on IRQ 4), then prints them. With
; -DWITH_PIT the PIT ticks at 100 Hz meanwhile (IRQ 0), as an idle kernel's timer does;
; -DPIT_DIVISOR=N sets another rate.
%include "mb32-head.asm"

%ifndef PIT_DIVISOR
%define PIT_DIVISOR 11932
%endif

COM1 equ 0x3f8

main:
    mov eax, irq4
    mov [idt + 0x34 * 8], ax
    mov word [idt + 0x34 * 8 + 2], SEL_CODE0
    mov word [idt + 0x34 * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + 0x34 * 8 + 6], ax
    mov al, 0x11
    out 0x20, al
    mov al, 0x30
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
%ifdef WITH_PIT
    mov eax, irq0
    mov [idt + 0x30 * 8], ax
    mov word [idt + 0x30 * 8 + 2], SEL_CODE0
    mov word [idt + 0x30 * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + 0x30 * 8 + 6], ax
    mov al, 0xee                ; IRQ 0 and IRQ 4
    out 0x21, al
    mov al, 0x34
    out 0x43, al
    mov al, PIT_DIVISOR & 0xff
    out 0x40, al
    mov al, PIT_DIVISOR >> 8
    out 0x40, al
%else
    mov al, 0xef                ; IRQ 4
    out 0x21, al
%endif
    mov dx, COM1 + 2
    mov al, 0x07                ; FIFOs on and cleared
    out dx, al
    mov dx, COM1 + 1
    mov al, 0x01                ; received-data interrupts
    out dx, al
    mov dx, COM1 + 4
    mov al, 0x0b                ; DTR, RTS, OUT2
    out dx, al
    sti
.wait:
    hlt
    cmp dword [count], 3
    jb .wait
    cli
    mov esi, buffer
    call puts
    ret

irq0:
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iret

irq4:
    pushad
.more:
    mov dx, COM1 + 5
    in al, dx
    test al, 1
    jz .done
    mov dx, COM1
    in al, dx
    mov ebx, [count]
    cmp ebx, 15
    jae .more
    mov [buffer + ebx], al
    inc dword [count]
    jmp .more
.done:
    mov al, 0x20
    out 0x20, al
    popad
    iret

align 4
count:  dd 0
buffer: times 16 db 0

%include "mb32-tail.asm"
