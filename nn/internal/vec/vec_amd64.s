//go:build amd64 && !purego

#include "textflag.h"

// func adamAVX2(theta, grad, m, v *float32, n int, c *AdamConsts)
// Same operations, in the same order, as adamGo; no FMA.
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ theta+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // β1
	VBROADCASTSS 4(AX), Y9   // 1-β1
	VBROADCASTSS 8(AX), Y10  // β2
	VBROADCASTSS 12(AX), Y11 // 1-β2
	VBROADCASTSS 16(AX), Y12 // step size
	VBROADCASTSS 20(AX), Y13 // √bc2
	VBROADCASTSS 24(AX), Y14 // eps
	SHRQ $3, CX
	JZ adamdone

adamloop:
	VMOVUPS (SI), Y0
	VMULPS (R8), Y8, Y1
	VMULPS Y0, Y9, Y2
	VADDPS Y2, Y1, Y1
	VMOVUPS Y1, (R8)
	VMULPS Y0, Y0, Y3
	VMULPS Y3, Y11, Y3
	VMULPS (R9), Y10, Y4
	VADDPS Y3, Y4, Y4
	VMOVUPS Y4, (R9)
	VSQRTPS Y4, Y5
	VDIVPS Y13, Y5, Y5
	VADDPS Y14, Y5, Y5
	VDIVPS Y5, Y1, Y6
	VMULPS Y6, Y12, Y6
	VMOVUPS (DI), Y7
	VSUBPS Y6, Y7, Y7
	VMOVUPS Y7, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, DI
	DECQ CX
	JNZ adamloop

adamdone:
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ adddone

addloop:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ addloop

adddone:
	VZEROUPPER
	RET

// func reluAVX2(dst, src *float32, n int)
// max(x, 0) as Intel's MAXPS(0, x) = (0 > x) ? 0 : x, which keeps NaN, then
// + 0 to turn -0 into +0.
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ reludone
	VXORPS Y15, Y15, Y15

reluloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMAXPS Y0, Y15, Y0
	VMAXPS Y1, Y15, Y1
	VADDPS Y15, Y0, Y0
	VADDPS Y15, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ reluloop

reludone:
	VZEROUPPER
	RET

// func reluGradAVX2(dst, y, grad *float32, n int)
// dst += grad where y > 0 (ordered compare: NaN is not > 0).
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ rgdone
	VXORPS Y15, Y15, Y15

rgloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VCMPPS $0x0e, Y15, Y0, Y0
	VCMPPS $0x0e, Y15, Y1, Y1
	VANDPS (DX), Y0, Y0
	VANDPS 32(DX), Y1, Y1
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ rgloop

rgdone:
	VZEROUPPER
	RET

// func mulAVX2(dst, a, b *float32, n int)
TEXT ·mulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ muldone

mulloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMULPS (DX), Y0, Y0
	VMULPS 32(DX), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ mulloop

muldone:
	VZEROUPPER
	RET

// func mulAddAVX2(dst, a, b *float32, n int)
// dst += a*b, rounded after the product and after the sum (no FMA).
TEXT ·mulAddAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ madone

maloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMULPS (DX), Y0, Y0
	VMULPS 32(DX), Y1, Y1
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ maloop

madone:
	VZEROUPPER
	RET
