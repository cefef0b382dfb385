; Paging: 4 KiB and 4 MiB pages, accessed/dirty bits, not-present and protection faults with CR2
; and error codes, CR0.WP, INVLPG, and a write that faults on its second page.
%include "mb32-head.asm"

PTE_P  equ 1
PTE_RW equ 2
PTE_US equ 4
PTE_A  equ 0x20
PTE_D  equ 0x40
PDE_PS equ 0x80

%macro EXPECT_FAULT 1
    mov dword [resume_eip], %1
%endmacro

main:
    ; Page table 0 maps 0..4 MiB one to one, user and writable, except for the pages changed below.
    mov edi, pt0
    mov eax, PTE_P | PTE_RW | PTE_US
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    mov dword [pt0 + 0x300 * 4], 0                                    ; 0x300000 not present
    mov dword [pt0 + 0x301 * 4], 0x301000 | PTE_P                     ; 0x301000 read-only, supervisor
    mov dword [pt0 + 0x302 * 4], 0x303000 | PTE_P | PTE_RW            ; 0x302000 -> 0x303000
    mov dword [pd], pt0 + (PTE_P | PTE_RW | PTE_US)
    mov dword [pd + 4], 0x000000 | PTE_P | PTE_RW | PDE_PS            ; 4..8 MiB -> 0..4 MiB (4 MiB page)
    mov dword [0x303000], 0x33333333
    mov dword [0x305000], 0x55555555
    mov dword [0x200000], 0x12345678
    mov eax, pd
    mov cr3, eax
    mov eax, cr4
    or eax, 0x10                   ; PSE
    mov cr4, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax

    ; A 4 MiB page aliases physical memory.
    mov eax, [0x600000]
    mov esi, t_alias
    call report_value

    ; Accessed and dirty bits of PTE 0x304.
    mov eax, [0x304000]
    mov eax, [pt0 + 0x304 * 4]
    and eax, PTE_A | PTE_D
    mov esi, t_ad_read
    call report_value
    mov dword [0x304000], 1
    mov eax, [pt0 + 0x304 * 4]
    and eax, PTE_A | PTE_D
    mov esi, t_ad_write
    call report_value
    mov dword [0x400010], 7
    mov eax, [pd + 4]
    and eax, PTE_A | PTE_D
    mov esi, t_ad_4m
    call report_value

    ; Not present: read, then write.
    EXPECT_FAULT .np_read
    mov eax, [0x300004]
.np_read:
    mov esi, t_np_read
    call report_fault
    EXPECT_FAULT .np_write
    mov dword [0x300ffc], 0
.np_write:
    mov esi, t_np_write
    call report_fault

    ; A PDE that is not present.
    EXPECT_FAULT .pde
    mov eax, [0xc00000]
.pde:
    mov esi, t_pde
    call report_fault

    ; Supervisor writes to read-only pages succeed unless CR0.WP is set.
    mov dword [0x301000], 0xaa
    mov eax, [0x301000]
    mov esi, t_wp0
    call report_value
    mov eax, cr0
    or eax, 0x10000
    mov cr0, eax
    EXPECT_FAULT .wp1
    mov dword [0x301000], 0xbb
.wp1:
    mov esi, t_wp1
    call report_fault
    mov eax, [0x301000]
    mov esi, t_wp1_value
    call report_value

    ; A dword write across into a not-present page faults on the second page and writes nothing.
    mov dword [0x2ffffc], 0x11111111
    EXPECT_FAULT .cross
    mov dword [0x2ffffe], 0xffffffff
.cross:
    mov esi, t_cross
    call report_fault
    mov eax, [0x2ffffc]
    mov esi, t_cross_value
    call report_value

    ; Remapping takes effect after INVLPG.
    mov eax, [0x302000]
    mov esi, t_map_before
    call report_value
    mov dword [pt0 + 0x302 * 4], 0x305000 | PTE_P | PTE_RW
    invlpg [0x302000]
    mov eax, [0x302000]
    mov esi, t_map_after
    call report_value

    ; Reloading CR3 flushes a changed mapping too.
    mov dword [pt0 + 0x302 * 4], 0x303000 | PTE_P | PTE_RW
    mov eax, cr3
    mov cr3, eax
    mov eax, [0x302000]
    mov esi, t_map_cr3
    call report_value

    ; Leave paging on; report how many faults were taken.
    mov eax, [fault_count]
    mov esi, t_count
    call report_value
    ret

t_alias: db "alias", 0
t_ad_read: db "A/D after read", 0
t_ad_write: db "A/D after write", 0
t_ad_4m: db "A/D of 4M page", 0
t_np_read: db "PF read", 0
t_np_write: db "PF write", 0
t_pde: db "PF pde", 0
t_wp0: db "WP off write", 0
t_wp1: db "PF WP on", 0
t_wp1_value: db "WP on value", 0
t_cross: db "PF cross", 0
t_cross_value: db "cross value", 0
t_map_before: db "map before", 0
t_map_after: db "map after invlpg", 0
t_map_cr3: db "map after cr3", 0
t_count: db "faults", 0

%include "mb32-tail.asm"
align 4096
pd:  times 1024 dd 0
pt0: times 1024 dd 0
