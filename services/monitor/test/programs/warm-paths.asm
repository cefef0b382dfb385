; Paths of the warm tier's WebAssembly code (engine/wasm/block-tier.ts) that the other programs
; reach seldom: conditional jumps fused with the ALU operation before them, for every condition and
; pairs of edge values; accesses that cross a page; PUSH ESP, POP ESP, CALL and RET. Each result is
; printed, so a run under the warm tier can be compared with the interpreter's transcript.
%include "mb32-head.asm"

VALUES equ 8

; One condition: bit %3 of ebp is set when j%2 is taken after "%1" on [va] and [vb].
%macro one_cc 3
    mov eax, [va]
    mov ebx, [vb]
    %1
    j%2 %%taken
    jmp %%done
%%taken:
    or ebp, 1 << %3
%%done:
%endmacro

; The mask of taken conditions after "%1" for every pair of values, folded into eax.
%macro cc_sum 1
    mov dword [sum], 0
    mov dword [idx_a], 0
%%li:
    mov dword [idx_b], 0
%%lj:
    mov eax, [idx_a]
    mov eax, [values + eax * 4]
    mov [va], eax
    mov eax, [idx_b]
    mov eax, [values + eax * 4]
    mov [vb], eax
    xor ebp, ebp
    one_cc {%1}, o, 0
    one_cc {%1}, no, 1
    one_cc {%1}, b, 2
    one_cc {%1}, ae, 3
    one_cc {%1}, e, 4
    one_cc {%1}, ne, 5
    one_cc {%1}, be, 6
    one_cc {%1}, a, 7
    one_cc {%1}, s, 8
    one_cc {%1}, ns, 9
    one_cc {%1}, p, 10
    one_cc {%1}, np, 11
    one_cc {%1}, l, 12
    one_cc {%1}, ge, 13
    one_cc {%1}, le, 14
    one_cc {%1}, g, 15
    mov eax, [sum]
    rol eax, 5
    xor eax, ebp
    mov [sum], eax
    inc dword [idx_b]
    cmp dword [idx_b], VALUES
    jb %%lj
    inc dword [idx_a]
    cmp dword [idx_a], VALUES
    jb %%li
    mov eax, [sum]
%endmacro

%macro report_cc 2
    cc_sum {%1}
    mov esi, %2
    call report_value
%endmacro

main:
    report_cc {cmp eax, ebx}, t_cmp
    report_cc {sub eax, ebx}, t_sub
    report_cc {add eax, ebx}, t_add
    report_cc {and eax, ebx}, t_and
    report_cc {or eax, ebx}, t_or
    report_cc {xor eax, ebx}, t_xor
    report_cc {test eax, ebx}, t_test
    report_cc {cmp eax, 0x80000000}, t_cmp_imm
    report_cc {cmp dword [va], ebx}, t_cmp_mem
    report_cc {sub eax, [vb]}, t_sub_mem

    ; A dword that spans two pages: stored, updated in place, loaded, and read as a word inside.
    mov dword [cross], 0x11223344
    add dword [cross], 0x01010101
    mov eax, [cross]
    mov esi, t_cross
    call report_value
    movzx eax, word [cross + 1]
    mov esi, t_cross_word
    call report_value

    ; PUSH ESP pushes the value before the push; POP ESP loads the popped value.
    mov ebx, esp
    push esp
    pop eax
    sub eax, ebx
    mov esi, t_push_esp
    call report_value
    mov eax, esp
    push eax
    pop esp
    sub eax, esp
    mov esi, t_pop_esp
    call report_value

    ; CALL and RET in a loop.
    xor eax, eax
    mov ecx, 50
.calls:
    call bump
    loop .calls
    mov esi, t_calls
    call report_value
    ret

bump:
    add eax, 3
    ret

t_cmp: db "cmp", 0
t_sub: db "sub", 0
t_add: db "add", 0
t_and: db "and", 0
t_or: db "or", 0
t_xor: db "xor", 0
t_test: db "test", 0
t_cmp_imm: db "cmp imm", 0
t_cmp_mem: db "cmp mem", 0
t_sub_mem: db "sub mem", 0
t_cross: db "cross-page dword", 0
t_cross_word: db "cross-page word", 0
t_push_esp: db "push esp", 0
t_pop_esp: db "pop esp", 0
t_calls: db "calls", 0

align 4
values: dd 0, 1, 5, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff
va: dd 0
vb: dd 0
idx_a: dd 0
idx_b: dd 0
sum: dd 0
align 4096, db 0
    times 4094 db 0
cross: dd 0
    dd 0

%include "mb32-tail.asm"
