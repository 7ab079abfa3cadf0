// The cache blocking of the blocked GEMM (gemm_blocked.h): mc x kc blocks of A, kc x nc
// panels of B, chosen once per micro-kernel shape (instruction set and element size) at
// first use:
//   1. MINIGEN_GEMM_BLOCKING="mc,kc,nc" (a bad value is an mg::Error naming it);
//   2. else the tuned file of this CPU model (`minigen bench --tune` writes it; one that is
//      corrupt, for another model or out of bounds is ignored with one warning on stderr);
//   3. else derived from the caches (cache_info.h) analytically, as BLIS does (Low et al.
//      2016, "Analytical modeling is enough for high-performance BLIS"), with the L1 rule
//      set by measurement (derive_gemm_blocking says how).
// Every choice keeps its reason for `minigen info`. mc is rounded up to a multiple of MR and
// nc to one of NR; kc never splits differently by thread count, so for a given blocking the
// result is bitwise the same at any thread count (a different kc rounds differently).
//
// The SIMD files (compiled with AVX flags) see only the plain structs and the functions
// declared here, never std::string: see isa_kernels.h for why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kernels/cpu/cache_info.h"

namespace mg::kernels::cpu {

struct GemmBlocking {
    int64_t mc = 0, kc = 0, nc = 0;
    bool operator==(const GemmBlocking&) const = default;
};

// Upper bounds: arrays of kc row pointers live on the stack (conv_implicit_simd.h), and
// the packing buffers grow with mc * kc + kc * nc.
inline constexpr int64_t kMaxGemmMC = 4096, kMaxGemmKC = 1024, kMaxGemmNC = 16384;

// The register tile of one instruction set's micro-kernel: MR rows x NR columns of
// elem_bytes-sized elements (gemm_simd.h static_asserts that its traits agree).
struct GemmKernelShape {
    const char* isa = "";  // "avx512", "avx2"
    int mr = 0, nr = 0, elem_bytes = 0;
};
// NR = two vectors; MR = as many rows as the register file holds besides them (gemm_simd.h).
constexpr GemmKernelShape gemm_kernel_shape(const char* isa, int vector_bytes, int registers, int elem_bytes) {
    return {isa, (registers - 3) / 2, 2 * vector_bytes / elem_bytes, elem_bytes};
}
// The shapes of the instruction sets this CPU runs (cpu_isas()), float32 then float64.
struct GemmKernelShapes {
    GemmKernelShape shapes[4];
    int count = 0;
};
GemmKernelShapes cpu_gemm_kernel_shapes();

// The blocking in use for `shape`: an override (set_gemm_blocking_override) if one is set,
// else the choice made at first use. Cheap after the first call (one atomic load).
GemmBlocking gemm_blocking(const GemmKernelShape& shape);

// ---- the pieces (tests, `minigen info`, `minigen bench --tune`) -------------------------

struct GemmBlockingChoice {
    GemmBlocking sizes;
    std::string reason;  // "env MINIGEN_GEMM_BLOCKING=...", "tuned file <path>", "derived: ..."
};

// The choice for `shape` on this machine (computed once, then remembered).
GemmBlockingChoice gemm_blocking_choice(const GemmKernelShape& shape);

// Throws the mg::Error of a bad MINIGEN_GEMM_BLOCKING; registration calls it, so that a bad
// value stops the program before any GEMM (which may run inside a parallel region) asks.
void check_gemm_blocking_env();

// From the caches: kc from the L1d, mc from the L2, nc from one CPU's share of the L3.
// Float on a Zen 4 (32 KiB L1d, 1 MiB L2): mc 336, kc 256, nc 4096.
GemmBlockingChoice derive_gemm_blocking(const CacheInfo& caches, const GemmKernelShape& shape);

// "mc,kc,nc" -> sizes, each within 1..kMax*; otherwise an mg::Error that starts with `what`
// and quotes the text.
GemmBlocking parse_gemm_blocking(std::string_view text, std::string_view what);

// mc rounded up to a multiple of MR and nc to one of NR, then clamped to the bounds.
GemmBlocking fit_gemm_blocking(GemmBlocking b, const GemmKernelShape& shape);

// The key of `shape` in a tuned file: "avx512 float32".
std::string gemm_blocking_key(const GemmKernelShape& shape);

// The tuned file of a CPU model: <cache>/tune/<model, sanitised>.json, <cache> =
// $MINIGEN_CACHE_DIR, else $XDG_CACHE_HOME/minigen, else $HOME/.cache/minigen.
std::string gemm_tuned_file_path(const std::string& cpu_model);

// The blocking a tuned file holds for `shape` on `cpu_model`, or nullopt with *problem
// saying why not (a missing file leaves *problem empty: nothing to warn about; problem may be
// null). Never throws.
std::optional<GemmBlocking> read_gemm_tuned_file(const std::string& path, const std::string& cpu_model,
                                                 const GemmKernelShape& shape, std::string* problem);

// The tuned file's text: {"cpu_model": ..., "blocking": {"avx512 float32": {"mc":..,"kc":..,"nc":..}}}.
std::string gemm_tuned_file_text(const std::string& cpu_model, const GemmKernelShape& shape, GemmBlocking b);

// Makes gemm_blocking() return fit_gemm_blocking(b, shape) for every shape until reset
// (nullopt). For the autotuner and tests; not while a GEMM runs on another thread.
void set_gemm_blocking_override(std::optional<GemmBlocking> b);

// set_gemm_blocking_override for a scope (cleared at its end, also when it throws).
struct ScopedGemmBlocking {
    explicit ScopedGemmBlocking(GemmBlocking b) { set_gemm_blocking_override(b); }
    ~ScopedGemmBlocking() { set_gemm_blocking_override(std::nullopt); }
    ScopedGemmBlocking(const ScopedGemmBlocking&) = delete;
    ScopedGemmBlocking& operator=(const ScopedGemmBlocking&) = delete;
};

}  // namespace mg::kernels::cpu
