; Virtual-8086 mode: entering it with IRETD, IOPL-sensitive instructions and INT n raising #GP to a
; ring-0 monitor (with the V86 segment registers on its stack and null data segments), the I/O
; bitmap, and with IOPL 3 an INT n going straight through a DPL 3 gate to ring 0 and back.
%include "mb32-head.asm"

V86_SEG  equ 0x0200
V86_BASE equ V86_SEG * 16

; Sets IDT entry %1 to a 32-bit interrupt or trap gate at %2 with the access byte %3.
%macro SET_GATE 3
    mov eax, %2
    mov [idt + %1 * 8], ax
    mov word [idt + %1 * 8 + 2], SEL_CODE0
    mov word [idt + %1 * 8 + 4], %3 << 8
    shr eax, 16
    mov [idt + %1 * 8 + 6], ax
%endmacro

main:
    mov esi, v86_blob
    mov edi, V86_BASE
    mov ecx, v86_blob_end - v86_blob
    rep movsb
    SET_GATE 13, v86_gp, 0x8e
    SET_GATE 0x21, int21, 0xef
    mov dword [tss + 4], kstack_top
    mov [ring0_esp], esp
    mov eax, 0x00020002             ; VM, IOPL 0
    mov ebx, phase1 - v86_blob
    jmp enter_v86

phase1_done:
    mov eax, 0x00023002             ; VM, IOPL 3
    mov ebx, phase2 - v86_blob
    jmp enter_v86

phase2_done:
    mov eax, [fault_count]
    mov esi, t_count
    call report_value
    ret

; Enters V86 mode at V86_SEG:bx with EFLAGS eax; DS = 0x40, SS:SP = 0:0x1ff0.
enter_v86:
    push dword 0                    ; GS
    push dword 0                    ; FS
    push dword 0x40                 ; DS
    push dword 0                    ; ES
    push dword 0                    ; SS
    push dword 0x1ff0               ; ESP
    push eax                        ; EFLAGS
    push dword V86_SEG              ; CS
    push ebx                        ; EIP
    iretd

; #GP from V86 mode: report the opcode, step over it, and end the phase at HLT.
v86_gp:
    mov ebx, ds
    push SEL_DATA0
    pop ds
    inc dword [fault_count]
    mov [ds_in_handler], ebx
    movzx eax, word [esp + 8]       ; CS
    shl eax, 4
    add eax, [esp + 4]              ; + EIP
    movzx eax, byte [eax]
    mov [opcode], eax
    mov esi, t_gp
    call report_value
    mov eax, [esp + 12]
    and eax, 0x00020000
    mov esi, t_vm
    call report_value
    mov eax, [esp + 28]
    mov esi, t_saved_ds
    call report_value
    mov eax, [ds_in_handler]
    mov esi, t_handler_ds
    call report_value
    mov eax, [opcode]
    cmp al, 0xf4
    je .halt
    mov ecx, 1
    cmp al, 0xcd
    je .two
    cmp al, 0xe6
    jne .step
.two:
    mov ecx, 2
.step:
    add [esp + 4], ecx
    add esp, 4                      ; error code
    iretd
.halt:
    mov esp, [ring0_esp]
    mov ax, SEL_DATA0
    mov es, ax
    mov fs, ax
    mov gs, ax
    cmp dword [phase], 0
    jne .second
    inc dword [phase]
    jmp phase1_done
.second:
    jmp phase2_done

; INT 0x21 from V86 mode with IOPL 3: a DPL 3 gate to ring 0; returns AX + 1.
int21:
    push ds
    push SEL_DATA0
    pop ds
    mov ebx, [esp + 12]             ; EFLAGS of the interrupted V86 code
    and ebx, 0x00020000
    mov [int21_vm], ebx
    pop ds
    inc ax
    iretd

; 16-bit code run in V86 mode at V86_SEG:0.
bits 16
v86_blob:
phase1:
    mov ax, 0x1234
    int 0x21                        ; IOPL 0: #GP
    out 0x80, al                    ; allowed by the I/O bitmap
    out 0x81, al                    ; #GP
    pushf                           ; #GP
    hlt                             ; #GP: end of phase 1
phase2:
    mov ax, 0x1234
    int 0x21                        ; IOPL 3: through the gate
    mov bx, ax
    mov ax, bx
    out 0xe9, al                    ; 0x35: "5"
    pushf                           ; allowed with IOPL 3
    pop ax
    mov al, ah
    and al, 0x30
    shr al, 4
    add al, '0'
    out 0xe9, al                    ; IOPL as a digit: "3"
    mov al, 10
    out 0xe9, al
    hlt                             ; #GP: end of phase 2
v86_blob_end:
bits 32

t_gp: db "GP opcode", 0
t_vm: db "  vm", 0
t_saved_ds: db "  saved ds", 0
t_handler_ds: db "  handler ds", 0
t_count: db "faults", 0

align 4
ring0_esp: dd 0
phase: dd 0
opcode: dd 0
ds_in_handler: dd 0
int21_vm: dd 0

%include "mb32-tail.asm"
kstack: times 4096 db 0
kstack_top:
