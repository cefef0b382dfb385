; Storage for programs built on mb32-head.asm, placed at the end of their image (page-aligned).
align 4096
idt:        times 256 * 8 db 0
align 4096
tss:        times 104 db 0
iomap:      times 8192 + 1 db 0
align 4096
stack0:     times 8192 db 0
stack0_top:
