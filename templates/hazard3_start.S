/* The first MB of Hazard3's RTL testbench memory (lrf_edge.qemu.rtl): the reset code and a
 * semihosting shim, so the target's own ELF (picolibc, crt0-semihost) runs unchanged, rebased
 * to LRF_FLASH. The testbench's core is configured with mtvec fixed at 0 (MTVEC_WMASK = 0),
 * so crt0's trap handler is never installed and every trap comes here:
 *   ebreak (a semihosting call: a0 the operation, a1 its argument): SYS_WRITEC, SYS_WRITE0,
 *     SYS_WRITE to the testbench's print register; SYS_EXIT, SYS_EXIT_EXTENDED to its exit
 *     register (which ends the simulation); any other call returns -1
 *   anything else: mcause and mepc to the print register, exit code 255 */
#define IO_BASE 0x80000000
    .section .text
    .option norvc
    .option norelax
    .option arch, +zicsr
    .globl _vectors
_vectors:
    j trap
    .balign 64                       /* the reset vector: 0x40 */
reset:
    csrci mcountinhibit, 0x5         /* mcycle and minstret are stopped at reset */
    li t0, LRF_FLASH                 /* the ELF's entry: crt0's _start, the start of flash */
    jr t0
trap:
    addi sp, sp, -16
    sw t0, 0(sp)
    sw t1, 4(sp)
    sw t2, 8(sp)
    sw t3, 12(sp)
    li t3, IO_BASE
    csrr t0, mcause
    li t1, 3                         /* breakpoint */
    bne t0, t1, fault
    li t1, 0x03
    beq a0, t1, writec
    li t1, 0x04
    beq a0, t1, write0
    li t1, 0x05
    beq a0, t1, write
    li t1, 0x18
    beq a0, t1, exit
    li t1, 0x20
    beq a0, t1, exit_extended
    li a0, -1
    j done
writec:
    lbu t0, 0(a1)
    sw t0, 0(t3)
    j done
write0:
    mv t2, a1
1:  lbu t0, 0(t2)
    beqz t0, done
    sw t0, 0(t3)
    addi t2, t2, 1
    j 1b
write:                               /* a1: {fd, buffer, length}; returns the bytes not written */
    lw t2, 4(a1)
    lw t1, 8(a1)
1:  beqz t1, 2f
    lbu t0, 0(t2)
    sw t0, 0(t3)
    addi t2, t2, 1
    addi t1, t1, -1
    j 1b
2:  li a0, 0
    j done
exit:                                /* a1: the reason; ADP_Stopped_ApplicationExit is 0 */
    li t1, 0x20026
    li t0, 0
    beq a1, t1, 1f
    li t0, 1
1:  sw t0, 8(t3)
    j halt
exit_extended:                       /* a1: {reason, exit code} */
    lw t0, 4(a1)
    sw t0, 8(t3)
    j halt
done:
    csrr t0, mepc                    /* past the ebreak of slli/ebreak/srai */
    addi t0, t0, 4
    csrw mepc, t0
    lw t0, 0(sp)
    lw t1, 4(sp)
    lw t2, 8(sp)
    lw t3, 12(sp)
    addi sp, sp, 16
    mret
fault:
    sw t0, 4(t3)
    csrr t0, mepc
    sw t0, 4(t3)
    li t0, 255
    sw t0, 8(t3)
halt:
    j halt
