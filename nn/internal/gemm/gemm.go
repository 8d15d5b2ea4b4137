package gemm

import "fmt"

// Blocking parameters. kc·nr and mc·kc floats of the packed panels should stay
// in L1 and L2 respectively; the shapes prevoir uses have k ≤ 512, so a
// single kc block covers all of k (512 measured slightly faster than 256 on
// the 448-row backward products, where k = 448).
const (
	blockK = 512
	blockM = 84 // multiple of the micro-kernel heights (2, 6 and 14)
	blockN = 2048
)

// Workspace holds the packing buffers of one goroutine. The zero value is
// ready to use; buffers grow on demand and are reused between calls.
type Workspace struct {
	packA, packB []float32 // packed blocks
	edgeA, edgeB []float32 // packed partial panels of in-place operands
	tile         []float32
	k            kernel
}

// kernel describes one micro-kernel: fn computes, for kc ≥ 0,
// C[0:mr, 0:nr] += Ap·Bp where Ap is kc×mr (packed, mr contiguous per k step)
// and Bp is kc×nr (nr contiguous per k step); C has row stride ldc.
//
// strided, when not nil, is the same kernel with A(i, l) at a[i·ars + l·acs]
// and B(l, j) at b[l·brs + j]: it lets full tiles read A (transposed or
// not) and a non-transposed B in place instead of packing them. Packing
// costs a scalar pass over the operand, which for the Transformer's k = 64
// products took as long as the AVX-512 arithmetic (measured: 448×64·64×64
// went from ~120 to ~190 GFLOP/s when A was read in place).
type kernel struct {
	mr, nr  int
	fn      func(kc int, a, b, c []float32, ldc int)
	strided func(kc int, a []float32, ars, acs int, b []float32, brs int, c []float32, ldc int)
}

func (ws *Workspace) init() {
	if ws.k.fn == nil {
		ws.k = bestKernel()
	}
}

// Name reports which micro-kernel this workspace uses, e.g. "avx2-fma 6x16".
func (ws *Workspace) Name() string {
	ws.init()
	return kernelName(ws.k)
}

// Tile returns the micro-kernel's tile height and width: splitting C
// between goroutines at multiples of them avoids partial tiles.
func (ws *Workspace) Tile() (mr, nr int) {
	ws.init()
	return ws.k.mr, ws.k.nr
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C where op(A) is m×k, op(B) is
// k×n and C is m×n, all row-major: element (i,j) of C is c[i*ldc+j]; A is
// stored as m×k with row stride lda (or k×m when transA), B as k×n with row
// stride ldb (or n×k when transB). When beta is 0, C is not read (NaNs in C
// do not propagate), as in BLAS.
//
// Sgemm panics with a descriptive message when a slice is too short for the
// given dimensions and strides: these are programming errors inside package
// nn, not user input.
func (ws *Workspace) Sgemm(transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	checkMat("A", a, transA, m, k, lda)
	checkMat("B", b, transB, k, n, ldb)
	checkMat("C", c, false, m, n, ldc)
	ws.init()

	// C = beta·C first; the kernels then only ever add into C.
	if beta != 1 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	mr, nr := ws.k.mr, ws.k.nr
	// Operands read in place by the strided kernel (full tiles only; a
	// transposed B has no contiguous rows and is always packed).
	directA := ws.k.strided != nil && alpha == 1
	directB := ws.k.strided != nil && !transB
	for jc := 0; jc < n; jc += blockN {
		nc := min(blockN, n-jc)
		for pc := 0; pc < k; pc += blockK {
			kc := min(blockK, k-pc)
			if !directB {
				ws.packB = grow(ws.packB, kc*roundUp(nc, nr))
				packB(ws.packB, b, ldb, transB, pc, jc, kc, nc, nr)
			}
			for ic := 0; ic < m; ic += blockM {
				mc := min(blockM, m-ic)
				if !directA {
					ws.packA = grow(ws.packA, kc*roundUp(mc, mr))
					packA(ws.packA, a, lda, transA, ic, pc, mc, kc, mr, alpha)
				}
				ws.macro(&operands{
					a: a, lda: lda, transA: transA, directA: directA, alpha: alpha,
					b: b, ldb: ldb, transB: transB, directB: directB,
					ic: ic, jc: jc, pc: pc, mc: mc, nc: nc, kc: kc,
				}, c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// operands describes the blocks macro works on: rows [ic, ic+mc) of op(A)
// and columns [jc, jc+nc) of op(B), over k steps [pc, pc+kc).
type operands struct {
	a               []float32
	lda             int
	transA, directA bool
	alpha           float32
	b               []float32
	ldb             int
	transB, directB bool
	ic, jc, pc      int
	mc, nc, kc      int
}

// macro runs the micro-kernel over one mc×kc block of A and kc×nc block of
// B, adding the product into C (which starts at the block's corner).
// Blocks not read in place have been packed into ws.packA / ws.packB;
// partial tiles of in-place operands are packed here, one panel at a time.
func (ws *Workspace) macro(o *operands, c []float32, ldc int) {
	mr, nr, kc := ws.k.mr, ws.k.nr, o.kc
	if len(ws.tile) < mr*nr {
		ws.tile = make([]float32, mr*nr)
	}
	tile := ws.tile[:mr*nr]
	for jr := 0; jr < o.nc; jr += nr {
		nb := min(nr, o.nc-jr)
		var bp []float32 // packed panel, or nil when B is read in place
		switch {
		case !o.directB:
			bp = ws.packB[jr*kc : (jr+nr)*kc]
		case nb < nr:
			ws.edgeB = grow(ws.edgeB, kc*nr)
			packB(ws.edgeB, o.b, o.ldb, false, o.pc, o.jc+jr, kc, nb, nr)
			bp = ws.edgeB
		}
		for ir := 0; ir < o.mc; ir += mr {
			mb := min(mr, o.mc-ir)
			var ap []float32 // packed panel, or nil when A is read in place
			switch {
			case !o.directA:
				ap = ws.packA[ir*kc : (ir+mr)*kc]
			case mb < mr:
				ws.edgeA = grow(ws.edgeA, kc*mr)
				packA(ws.edgeA, o.a, o.lda, o.transA, o.ic+ir, o.pc, mb, kc, mr, o.alpha)
				ap = ws.edgeA
			}
			dst, ldd := c[ir*ldc+jr:], ldc
			full := mb == mr && nb == nr
			if !full {
				// Edge tile: compute into a scratch tile, then add the
				// valid part. c + acc is the same float32 operation as in
				// the kernel, so edge and interior elements round alike.
				clear(tile)
				dst, ldd = tile, nr
			}
			if ap != nil && bp != nil {
				ws.k.fn(kc, ap, bp, dst, ldd)
			} else {
				// A in place: op(A)(i, l) is a[i·lda + l], or a[l·lda + i]
				// when transposed. B in place: op(B)(l, j) is b[l·ldb + j].
				aa, ars, acs := ap, 1, mr
				switch {
				case ap == nil && o.transA:
					aa, ars, acs = o.a[o.pc*o.lda+o.ic+ir:], 1, o.lda
				case ap == nil:
					aa, ars, acs = o.a[(o.ic+ir)*o.lda+o.pc:], o.lda, 1
				}
				bb, brs := bp, nr
				if bp == nil {
					bb, brs = o.b[o.pc*o.ldb+o.jc+jr:], o.ldb
				}
				ws.k.strided(kc, aa, ars, acs, bb, brs, dst, ldd)
			}
			if !full {
				for i := 0; i < mb; i++ {
					crow := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+nb]
					trow := tile[i*nr : i*nr+nb]
					for j := range crow {
						crow[j] += trow[j]
					}
				}
			}
		}
	}
}

// packA writes alpha·op(A)[ic:ic+mc, pc:pc+kc] as row panels of height mr:
// panel p holds, for each l in [0,kc), the mr values op(A)[ic+p·mr+i, pc+l].
// Rows beyond mc are zero.
func packA(dst, a []float32, lda int, trans bool, ic, pc, mc, kc, mr int, alpha float32) {
	for ir := 0; ir < mc; ir += mr {
		mb := min(mr, mc-ir)
		panel := dst[ir*kc : (ir+mr)*kc]
		if trans {
			// op(A)[i,l] = a[l*lda+i]: the mb values of one k step are contiguous.
			for l := 0; l < kc; l++ {
				src := a[(pc+l)*lda+ic+ir : (pc+l)*lda+ic+ir+mb]
				d := panel[l*mr : l*mr+mr]
				if alpha == 1 && mb == 6 && mr == 6 {
					*(*[6]float32)(d) = *(*[6]float32)(src) // no memmove call
				} else if alpha == 1 {
					copy(d, src)
				} else {
					for i, v := range src {
						d[i] = alpha * v
					}
				}
				clear(d[mb:])
			}
			continue
		}
		if mb == 6 && mr == 6 {
			// Six row streams read in step, the panel written in order.
			base := (ic+ir)*lda + pc
			r0 := a[base : base+kc]
			r1 := a[base+lda : base+lda+kc]
			r2 := a[base+2*lda : base+2*lda+kc]
			r3 := a[base+3*lda : base+3*lda+kc]
			r4 := a[base+4*lda : base+4*lda+kc]
			r5 := a[base+5*lda : base+5*lda+kc]
			for l := range r0 {
				d := (*[6]float32)(panel[l*6 : l*6+6])
				d[0], d[1], d[2] = alpha*r0[l], alpha*r1[l], alpha*r2[l]
				d[3], d[4], d[5] = alpha*r3[l], alpha*r4[l], alpha*r5[l]
			}
			continue
		}
		if mb == mr && alpha == 1 {
			packRowsBy4(panel, a, (ic+ir)*lda+pc, lda, mr, kc)
			continue
		}
		for i := 0; i < mb; i++ {
			src := a[(ic+ir+i)*lda+pc : (ic+ir+i)*lda+pc+kc]
			for l, v := range src {
				panel[l*mr+i] = alpha * v
			}
		}
		for i := mb; i < mr; i++ {
			for l := 0; l < kc; l++ {
				panel[l*mr+i] = 0
			}
		}
	}
}

// packRowsBy4 transposes mr rows of kc values (row i at a[base+i·lda:])
// into panel[l·mr+i], four k steps per row read so that each read is one
// 16-byte array load.
func packRowsBy4(panel, a []float32, base, lda, mr, kc int) {
	l := 0
	for ; l+4 <= kc; l += 4 {
		d := panel[l*mr : (l+4)*mr]
		d0, d1, d2, d3 := d[:mr], d[mr:2*mr], d[2*mr:3*mr], d[3*mr:4*mr]
		for i := range d0 {
			o := base + i*lda + l
			s := (*[4]float32)(a[o : o+4])
			d0[i], d1[i], d2[i], d3[i] = s[0], s[1], s[2], s[3]
		}
	}
	for ; l < kc; l++ {
		d := panel[l*mr : (l+1)*mr]
		for i := range d {
			d[i] = a[base+i*lda+l]
		}
	}
}

// packB writes op(B)[pc:pc+kc, jc:jc+nc] as column panels of width nr:
// panel q holds, for each l in [0,kc), the nr values op(B)[pc+l, jc+q·nr+j].
// Columns beyond nc are zero.
func packB(dst, b []float32, ldb int, trans bool, pc, jc, kc, nc, nr int) {
	for jr := 0; jr < nc; jr += nr {
		nb := min(nr, nc-jr)
		panel := dst[jr*kc : (jr+nr)*kc]
		if !trans {
			// Array copies instead of memmove calls.
			if nb == 16 && nr == 16 {
				for l := 0; l < kc; l++ {
					o := (pc+l)*ldb + jc + jr
					*(*[16]float32)(panel[l*16 : l*16+16]) = *(*[16]float32)(b[o : o+16])
				}
				continue
			}
			if nb == 32 && nr == 32 {
				for l := 0; l < kc; l++ {
					o := (pc+l)*ldb + jc + jr
					*(*[32]float32)(panel[l*32 : l*32+32]) = *(*[32]float32)(b[o : o+32])
				}
				continue
			}
			for l := 0; l < kc; l++ {
				src := b[(pc+l)*ldb+jc+jr : (pc+l)*ldb+jc+jr+nb]
				d := panel[l*nr : l*nr+nr]
				copy(d, src)
				clear(d[nb:])
			}
			continue
		}
		// op(B)[l,j] = b[j*ldb+l]: the same transposition as packing A.
		if nb == nr {
			packRowsBy4(panel, b, (jc+jr)*ldb+pc, ldb, nr, kc)
			continue
		}
		for j := 0; j < nb; j++ {
			src := b[(jc+jr+j)*ldb+pc : (jc+jr+j)*ldb+pc+kc]
			for l, v := range src {
				panel[l*nr+j] = v
			}
		}
		for j := nb; j < nr; j++ {
			for l := 0; l < kc; l++ {
				panel[l*nr+j] = 0
			}
		}
	}
}

func checkMat(name string, x []float32, trans bool, rows, cols, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("gemm: %s stride %d < %d columns", name, ld, cols))
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("gemm: %s has %d elements, %dx%d with stride %d needs %d", name, len(x), rows, cols, ld, need))
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
