// malloc_count: an LD_PRELOAD library that counts the heap allocations of the process it is
// loaded into, for the benchmarks' "allocations per delivery" (issue 14). It forwards to glibc's
// allocator (__libc_malloc & co.) and adds each call to counters in a file that it maps shared
// (MALLOC_COUNT_FILE), so that the load generator reads them at any moment without talking to
// the process: 8-byte little-endian counters, [0] allocations (malloc, calloc, realloc of a null
// pointer, memalign, posix_memalign, aligned_alloc, valloc), [1] frees of a non-null pointer,
// [2] reallocs. Without MALLOC_COUNT_FILE it counts nothing. Bench only: never linked in.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);
}

namespace {

std::atomic<std::uint64_t>* g_counters = nullptr;

void count(std::size_t index) {
  if (g_counters != nullptr)
    g_counters[index].fetch_add(1, std::memory_order_relaxed);
}

__attribute__((constructor)) void open_counters() {
  const char* path = std::getenv("MALLOC_COUNT_FILE");
  if (path == nullptr || *path == '\0')
    return;
  const int fd = ::open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  constexpr std::size_t kBytes = 4096;
  if (::ftruncate(fd, kBytes) != 0) {
    ::close(fd);
    return;
  }
  void* page = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (page != MAP_FAILED)
    g_counters = static_cast<std::atomic<std::uint64_t>*>(page);
}

}  // namespace

extern "C" {

void* malloc(std::size_t size) {
  count(0);
  return __libc_malloc(size);
}

void* calloc(std::size_t n, std::size_t size) {
  count(0);
  return __libc_calloc(n, size);
}

void* realloc(void* p, std::size_t size) {
  count(p == nullptr ? 0 : 2);
  return __libc_realloc(p, size);
}

void free(void* p) {
  if (p != nullptr)
    count(1);
  __libc_free(p);
}

void* memalign(std::size_t alignment, std::size_t size) {
  count(0);
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count(0);
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  count(0);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr)
    return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(std::size_t size) {
  count(0);
  return __libc_memalign(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), size);
}

}  // extern "C"
