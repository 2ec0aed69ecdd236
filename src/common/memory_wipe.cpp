// SPDX-License-Identifier: GPL-3.0-or-later
// Freed memory is wiped: C++ operator delete, OpenCV matrices and Leptonica pixels (issue 15.4).
#include "lethe/common/memory_wipe.h"

#include <alloca.h>
#include <leptonica/allheaders.h>
#include <malloc.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include <opencv2/core.hpp>

namespace lethe::memory {
namespace {

std::atomic<std::size_t> g_mat_bytes_wiped{0};

/// explicit_bzero cannot be elided, whatever the optimiser knows about the block's fate.
void zero(void *p, std::size_t n)
{
	if (p && n)
		::explicit_bzero(p, n);
}

/// Matrices from this size up (a VGA frame is 900 KiB) get their own mapping: out of core
/// dumps while alive, returned to the kernel (not to a free list) when released.
constexpr std::size_t kOwnMappingFrom = 256 * 1024;
/// OpenCV's own alignment for matrix data (CV_MALLOC_ALIGN): SIMD loads rely on it.
constexpr std::size_t kAlign = 64;
/// A step the caller leaves to the allocator (OpenCV's C API value, core_c.h CV_AUTOSTEP).
constexpr std::size_t kAutoStep = 0x7fffffff;

/// OpenCV's standard allocator, but every release zeroes the data first and large buffers
/// are mapped MADV_DONTDUMP. Written against cv::MatAllocator's contract: allocate() fills
/// the steps (keeping the caller's where it gave data and steps), deallocate() runs once the
/// last reference is gone.
class WipingMatAllocator final : public cv::MatAllocator
{
public:
	cv::UMatData *allocate(int dims, const int *sizes, int type, void *data, size_t *step,
	                       cv::AccessFlag /*flags*/,
	                       cv::UMatUsageFlags /*usage*/) const override
	{
		std::size_t total = CV_ELEM_SIZE(type);
		for (int i = dims - 1; i >= 0; --i) {
			if (step) {
				if (data && step[i] != kAutoStep)
					total = step[i];
				else
					step[i] = total;
			}
			total *= static_cast<std::size_t>(sizes[i]);
		}
		auto *u = new cv::UMatData(this);
		if (data) {
			u->data = u->origdata = static_cast<uchar *>(data);
			u->flags |= cv::UMatData::USER_ALLOCATED;
		} else {
			u->data = u->origdata = static_cast<uchar *>(obtain(total));
			if (!u->data) {
				delete u;
				CV_Error(cv::Error::StsNoMem, "out of memory for a matrix");
			}
		}
		u->size = total;
		return u;
	}

	bool allocate(cv::UMatData *u, cv::AccessFlag /*flags*/,
	              cv::UMatUsageFlags /*usage*/) const override
	{
		return u != nullptr;
	}

	void deallocate(cv::UMatData *u) const override
	{
		if (!u)
			return;
		if (!(u->flags & cv::UMatData::USER_ALLOCATED) && u->origdata) {
			give_back(u->origdata, u->size);
			u->origdata = nullptr;
		}
		delete u;
	}

private:
	/// Large buffers released (zeroed) and kept for reuse: the detector makes the same few
	/// frame-sized intermediates every frame, and mapping each anew cost a page fault per
	/// 4 KiB (lethed_bench.sh: 15 instead of 20 frames/s on 720p frames without plates).
	struct Spare {
		std::size_t size;
		void *block;
	};
	static constexpr std::size_t kSpareBytesMax = 32u << 20;

	static std::mutex &spare_mutex()
	{
		static std::mutex m;
		return m;
	}
	static std::vector<Spare> &spares()
	{
		static auto *v = new std::vector<Spare>(); // never destroyed: see install
		return *v;
	}
	static std::size_t &spare_bytes()
	{
		static std::size_t n = 0;
		return n;
	}

	static void *obtain(std::size_t n)
	{
		if (n >= kOwnMappingFrom) {
			{
				std::lock_guard lock(spare_mutex());
				auto &v = spares();
				for (auto it = v.begin(); it != v.end(); ++it)
					if (it->size == n) {
						void *p = it->block;
						v.erase(it);
						spare_bytes() -= n;
						return p;
					}
			}
			void *p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE,
			                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return nullptr;
			(void)::madvise(p, n, MADV_DONTDUMP);
			return p;
		}
		void *p = nullptr;
		return ::posix_memalign(&p, kAlign, n == 0 ? 1 : n) == 0 ? p : nullptr;
	}

	static void give_back(void *p, std::size_t n)
	{
		g_mat_bytes_wiped.fetch_add(n, std::memory_order_relaxed);
		zero(p, n); // before anything else: a spare holds nothing but zeros
		if (n >= kOwnMappingFrom) {
			{
				std::lock_guard lock(spare_mutex());
				if (spare_bytes() + n <= kSpareBytesMax) {
					spares().push_back({n, p});
					spare_bytes() += n;
					return;
				}
			}
			(void)::munmap(p, n);
			return;
		}
		std::free(p);
	}
};

/// Leptonica's pixel buffers: Tesseract's copies (grey, binarised, scaled) of a plate crop.
void *pix_alloc(size_t n)
{
	return std::malloc(n);
}
void pix_free(void *p)
{
	if (p)
		zero(p, ::malloc_usable_size(p));
	std::free(p);
}

} // namespace

void install_wiping_allocators()
{
	static std::once_flag once;
	std::call_once(once, [] {
		// Never destroyed: a matrix released during static destruction still needs it.
		static auto *mats = new WipingMatAllocator();
		cv::Mat::setDefaultAllocator(mats);
		setPixMemoryManager(pix_alloc, pix_free);
	});
}

std::size_t mat_bytes_wiped()
{
	return g_mat_bytes_wiped.load(std::memory_order_relaxed);
}

[[gnu::noinline]] void wipe_stack(std::size_t bytes)
{
	void *p = alloca(bytes);
	zero(p, bytes);
	// The block is dead once we return: tell the compiler it was used.
	asm volatile("" : : "r"(p) : "memory");
}

const char *freed_block_wiper()
{
#if defined(__SANITIZE_ADDRESS__)
	return "AddressSanitizer free fill";
#elif defined(__SANITIZE_THREAD__)
	return "none";
#else
	return "operator delete";
#endif
}

} // namespace lethe::memory

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// The replaceable global deallocation functions ([new.delete]): libstdc++'s operator new
// takes blocks from malloc/aligned_alloc, so each is returned with free() once zeroed.
// Defined in the executable, they replace libstdc++'s for every library in the process.
namespace {
void wipe_and_free(void *p) noexcept
{
	if (!p)
		return;
	::explicit_bzero(p, ::malloc_usable_size(p));
	std::free(p);
}
} // namespace

void operator delete(void *p) noexcept
{
	wipe_and_free(p);
}
void operator delete[](void *p) noexcept
{
	wipe_and_free(p);
}
void operator delete(void *p, std::size_t) noexcept
{
	wipe_and_free(p);
}
void operator delete[](void *p, std::size_t) noexcept
{
	wipe_and_free(p);
}
void operator delete(void *p, const std::nothrow_t &) noexcept
{
	wipe_and_free(p);
}
void operator delete[](void *p, const std::nothrow_t &) noexcept
{
	wipe_and_free(p);
}
void operator delete(void *p, std::align_val_t) noexcept
{
	wipe_and_free(p);
}
void operator delete[](void *p, std::align_val_t) noexcept
{
	wipe_and_free(p);
}
void operator delete(void *p, std::size_t, std::align_val_t) noexcept
{
	wipe_and_free(p);
}
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept
{
	wipe_and_free(p);
}
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept
{
	wipe_and_free(p);
}
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept
{
	wipe_and_free(p);
}
#elif defined(__SANITIZE_ADDRESS__)
// AddressSanitizer keeps its own operator delete (it checks new/delete pairs); it is asked
// to fill every freed block instead. Options from ASAN_OPTIONS still override these.
extern "C" const char *__asan_default_options() // NOLINT(bugprone-reserved-identifier)
{
	return "max_free_fill_size=2147483647:free_fill_byte=0";
}
#endif
