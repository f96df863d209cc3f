// The HDF5 C API, wrapped once: every handle owned (RAII), every call checked, and a failure raised as a
// CheckpointError that carries HDF5's own error stack instead of HDF5 printing it to stderr.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace pi {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace h5 {

// An owned hid_t, closed by the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  // Throws CheckpointError (naming `what`) when `id` is negative, HDF5's failure value.
  Handle(hid_t id, Closer closer, const std::string& what);
  ~Handle();
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  // Closes now and reports a failure (for a file, the close is when the data reaches the file).
  void close(const std::string& what);

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Turns off HDF5's printing of error stacks; errors are reported through exceptions. Idempotent.
void silence_library_errors();

// Creates a file (truncating) in the 1.10 format, whose metadata is checksummed.
Handle create_file(const std::filesystem::path& path);
Handle open_file_readonly(const std::filesystem::path& path);
void flush(const Handle& file);

Handle create_group(const Handle& parent, const std::string& name);
Handle open_group(const Handle& parent, const std::string& name);
// Names of the links in a group, in name order.
std::vector<std::string> group_members(const Handle& group);

void write_attribute(const Handle& object, const std::string& name, const std::string& value);
void write_attribute(const Handle& object, const std::string& name, std::uint64_t value);
void write_attribute(const Handle& object, const std::string& name, double value);
bool has_attribute(const Handle& object, const std::string& name);
bool has_link(const Handle& group, const std::string& name);  // a dataset or group of that name
// A link `name` in `group` to object `object` of another file, `file` relative to the directory of the file
// that holds the link (where HDF5 looks for it, and so h5py and h5dump follow it from anywhere).
void create_external_link(const Handle& group, const std::string& name, const std::string& file,
                          const std::string& object);
// The file an external link names; nullopt when `name` is no external link.
std::optional<std::string> external_link_file(const Handle& group, const std::string& name);
std::string read_string_attribute(const Handle& object, const std::string& name);
std::uint64_t read_u64_attribute(const Handle& object, const std::string& name);
double read_f64_attribute(const Handle& object, const std::string& name);

// One-dimensional byte datasets and two-dimensional uint64 tables, chunked and Fletcher32-checksummed.
Handle write_bytes(const Handle& parent, const std::string& name, std::span<const std::uint8_t> data);
std::vector<std::uint8_t> read_bytes(const Handle& parent, const std::string& name);
// The same dataset from the first `size` bytes of `file`, read and written a part at a time.
Handle write_bytes_from_file(const Handle& parent, const std::string& name, const std::filesystem::path& file,
                             std::uint64_t size);
// The same in two steps, for a caller that also reads the dataset's attributes: open (checksum filter
// verified), then read all of it.
Handle open_checked_dataset(const Handle& parent, const std::string& name);
std::vector<std::uint8_t> read_dataset_bytes(const Handle& dataset, const std::string& name);
void write_u64_table(const Handle& parent, const std::string& name, std::size_t columns,
                     const std::vector<std::uint64_t>& row_major);
std::vector<std::uint64_t> read_u64_table(const Handle& parent, const std::string& name, std::size_t columns);

}  // namespace h5
}  // namespace pi
