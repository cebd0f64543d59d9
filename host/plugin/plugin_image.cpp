// Plugin images: the memfd copy and the ELF reading behind unload_blocker.
#include "plugin/plugin_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>
#include <vector>

#include "base/error_text.h"
#include "vigil/elf/elf_file.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: say so explicitly where vm.memfd_noexec would refuse it
#endif

namespace vigil {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

int create_memfd(const std::string& name) {
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);  // before 6.3
  return fd;
}

Status copy_all(int from, int to) {
  std::vector<char> buffer(size_t{1} << 16);
  for (;;) {
    ssize_t got = ::read(from, buffer.data(), buffer.size());
    if (got == 0) return Status::Ok();
    if (got < 0) {
      if (errno == EINTR) continue;
      return Error{"read: " + error_text(errno)};
    }
    for (ssize_t written = 0; written < got;) {
      ssize_t put = ::write(to, buffer.data() + written, static_cast<size_t>(got - written));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) return Error{"write to the memfd: " + error_text(errno)};
      written += put;
    }
  }
}

// A read-only view of a whole file, for the ELF reading.
class Mapping {
 public:
  explicit Mapping(int fd) {
    struct stat info {};
    if (::fstat(fd, &info) != 0 || info.st_size <= 0) return;
    void* data = ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) return;
    data_ = static_cast<const char*>(data);
    size_ = static_cast<size_t>(info.st_size);
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  std::string_view bytes() const { return {data_ == nullptr ? "" : data_, size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

std::string proc_fd_path(int fd) {
  return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd);
}

}  // namespace

Result<PluginImage> PluginImage::copy_to(const std::filesystem::path& file, const std::filesystem::path& dir) {
  static std::atomic<uint64_t> copies{0};
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Error{"cannot create " + dir.string() + ": " + error.message()};
  FileDescriptor source(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (source.get() < 0) return Error{"cannot open: " + error_text(errno)};
  auto path = dir / (std::to_string(++copies) + "-" + file.filename().string());
  PluginImage image;
  image.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0500);
  if (image.fd_ < 0) return Error{"cannot create " + path.string() + ": " + error_text(errno)};
  image.owned_copy_ = path;
  image.load_path_ = path.string();
  if (Status copied = copy_all(source.get(), image.fd_); !copied.ok()) return Error{copied.error()};
  return image;
}

Result<PluginImage> PluginImage::copy_of(const std::filesystem::path& file) {
  FileDescriptor source(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (source.get() < 0) return Error{"cannot open: " + error_text(errno)};
  FileDescriptor copy(create_memfd("vigil-plugin:" + file.filename().string()));
  if (copy.get() < 0) return Error{"memfd_create: " + error_text(errno)};
  if (Status copied = copy_all(source.get(), copy.get()); !copied.ok()) return Error{copied.error()};
  // Sealed: nobody, not even this process, can change the copy any more.
  if (::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return Error{"sealing the memfd: " + error_text(errno)};
  }
  PluginImage image;
  image.fd_ = copy.release();
  image.load_path_ = proc_fd_path(image.fd_);
  return image;
}

Result<PluginImage> PluginImage::open_file(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open: " + error_text(errno)};
  PluginImage image;
  image.fd_ = fd;
  image.load_path_ = proc_fd_path(fd);
  return image;
}

void PluginImage::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::error_code ignored;
  if (!owned_copy_.empty()) std::filesystem::remove(owned_copy_, ignored);
  owned_copy_.clear();
  load_path_.clear();
}

PluginImage::~PluginImage() {
  reset();
}

PluginImage::PluginImage(PluginImage&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      load_path_(std::move(other.load_path_)),
      owned_copy_(std::move(other.owned_copy_)) {
  other.owned_copy_.clear();
}

PluginImage& PluginImage::operator=(PluginImage&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    load_path_ = std::move(other.load_path_);
    owned_copy_ = std::move(other.owned_copy_);
    other.owned_copy_.clear();
  }
  return *this;
}

std::string unload_blocker(int fd) {
  Mapping file(fd);
  Result<elf::ElfFile> image = elf::ElfFile::read(file.bytes());
  return image.ok() ? elf::unload_blocker(image.value()) : "";
}

}  // namespace vigil
