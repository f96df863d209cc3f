#include "checkpoint/hdf5.hpp"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <utility>

namespace pi::h5 {
namespace {

constexpr hsize_t kByteChunk = hsize_t{1} << 20;
constexpr hsize_t kTableChunkRows = 1 << 14;

herr_t collect(unsigned /*n*/, const H5E_error2_t* e, void* data) {
  auto& messages = *static_cast<std::vector<std::string>*>(data);
  std::string m = e->desc ? e->desc : "";
  if (m.empty() && e->func_name) m = e->func_name;
  std::replace(m.begin(), m.end(), '\n', ' ');  // the message stays one line
  std::replace(m.begin(), m.end(), '\r', ' ');
  if (!m.empty() && std::find(messages.begin(), messages.end(), m) == messages.end()) messages.push_back(m);
  return 0;
}

// HDF5's error stack of the current thread, innermost cause last, as one line; clears it.
std::string error_stack() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &messages);
  H5Eclear2(H5E_DEFAULT);
  std::string out;
  for (const auto& m : messages) out += (out.empty() ? "" : "; ") + m;
  return out.empty() ? "no HDF5 error detail" : out;
}

[[noreturn]] void fail(const std::string& what) {
  throw CheckpointError(what + " (HDF5: " + error_stack() + ")");
}

void check(herr_t rc, const std::string& what) {
  if (rc < 0) fail(what);
}

Handle dataset_create_plist(hsize_t chunk_rows, int rank, hsize_t columns) {
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "H5Pcreate");
  const hsize_t chunk[2] = {std::max<hsize_t>(1, chunk_rows), columns};
  check(H5Pset_chunk(dcpl.get(), rank, chunk), "H5Pset_chunk");
  check(H5Pset_fletcher32(dcpl.get()), "H5Pset_fletcher32");
  return dcpl;
}

// Refuses a dataset that lacks the checksum: its bytes could be damaged without anyone noticing.
void require_checksum(const Handle& dataset, const std::string& name) {
  Handle dcpl(H5Dget_create_plist(dataset.get()), H5Pclose, "H5Dget_create_plist " + name);
  const int n = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0;
    std::size_t nelmts = 0;
    unsigned config = 0;
    if (H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nelmts, nullptr, 0, nullptr, &config) ==
        H5Z_FILTER_FLETCHER32) {
      return;
    }
  }
  throw CheckpointError("dataset " + name + " has no Fletcher32 checksum");
}

Handle open_dataset(const Handle& parent, const std::string& name) {
  Handle d(H5Dopen2(parent.get(), name.c_str(), H5P_DEFAULT), H5Dclose, "cannot open dataset " + name);
  require_checksum(d, name);
  return d;
}

Handle scalar_space() { return Handle(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate"); }

void write_scalar(const Handle& object, const std::string& name, hid_t type, const void* value) {
  const Handle space = scalar_space();
  const Handle attr(H5Acreate2(object.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose, "cannot create attribute " + name);
  check(H5Awrite(attr.get(), type, value), "cannot write attribute " + name);
}

Handle open_attribute(const Handle& object, const std::string& name) {
  if (!has_attribute(object, name)) throw CheckpointError("attribute '" + name + "' is missing");
  return Handle(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), H5Aclose, "cannot open attribute " + name);
}

template <class T>
T read_scalar(const Handle& object, const std::string& name, hid_t mem_type, H5T_class_t want) {
  const Handle attr = open_attribute(object, name);
  const Handle type(H5Aget_type(attr.get()), H5Tclose, "H5Aget_type " + name);
  if (H5Tget_class(type.get()) != want) throw CheckpointError("attribute '" + name + "' has the wrong type");
  T value{};
  check(H5Aread(attr.get(), mem_type, &value), "cannot read attribute " + name);
  return value;
}

}  // namespace

Handle::Handle(hid_t id, Closer closer, const std::string& what) : id_(id), closer_(closer) {
  if (id_ < 0) fail(what);
}

Handle::~Handle() {
  if (id_ >= 0) closer_(id_);
}

Handle::Handle(Handle&& other) noexcept
    : id_(std::exchange(other.id_, -1)), closer_(std::exchange(other.closer_, nullptr)) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0) closer_(id_);
    id_ = std::exchange(other.id_, -1);
    closer_ = std::exchange(other.closer_, nullptr);
  }
  return *this;
}

void Handle::close(const std::string& what) {
  const hid_t id = std::exchange(id_, -1);
  if (id >= 0) check(closer_(id), what);
}

void silence_library_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

Handle create_file(const std::filesystem::path& path) {
  silence_library_errors();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_V110), "H5Pset_libver_bounds");
  check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "H5Pset_fclose_degree");
  return Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose,
                "cannot create " + path.string());
}

Handle open_file_readonly(const std::filesystem::path& path) {
  silence_library_errors();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
  check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "H5Pset_fclose_degree");
  return Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose,
                "cannot open " + path.string() + " as an HDF5 file");
}

void flush(const Handle& file) { check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush"); }

Handle create_group(const Handle& parent, const std::string& name) {
  return Handle(H5Gcreate2(parent.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                "cannot create group " + name);
}

Handle open_group(const Handle& parent, const std::string& name) {
  return Handle(H5Gopen2(parent.get(), name.c_str(), H5P_DEFAULT), H5Gclose, "cannot open group " + name);
}

std::vector<std::string> group_members(const Handle& group) {
  H5G_info_t info;
  check(H5Gget_info(group.get(), &info), "H5Gget_info");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n =
        H5Lget_name_by_idx(group.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) fail("cannot list a group");
    std::string name(static_cast<std::size_t>(n), '\0');
    if (H5Lget_name_by_idx(group.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                           H5P_DEFAULT) < 0) {
      fail("cannot list a group");
    }
    names.push_back(std::move(name));
  }
  return names;
}

void write_attribute(const Handle& object, const std::string& name, const std::string& value) {
  const Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  check(H5Tset_size(type.get(), value.size() + 1), "H5Tset_size");
  check(H5Tset_strpad(type.get(), H5T_STR_NULLTERM), "H5Tset_strpad");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  write_scalar(object, name, type.get(), value.c_str());
}

void write_attribute(const Handle& object, const std::string& name, std::uint64_t value) {
  write_scalar(object, name, H5T_STD_U64LE, &value);
}

void write_attribute(const Handle& object, const std::string& name, double value) {
  write_scalar(object, name, H5T_IEEE_F64LE, &value);
}

bool has_attribute(const Handle& object, const std::string& name) {
  const htri_t exists = H5Aexists(object.get(), name.c_str());
  if (exists < 0) fail("cannot look up attribute " + name);
  return exists > 0;
}

void create_external_link(const Handle& group, const std::string& name, const std::string& file,
                          const std::string& object) {
  check(H5Lcreate_external(file.c_str(), object.c_str(), group.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot create the link " + name + " to " + file);
}

std::optional<std::string> external_link_file(const Handle& group, const std::string& name) {
  H5L_info_t info{};
  check(H5Lget_info(group.get(), name.c_str(), &info, H5P_DEFAULT), "cannot look up the link " + name);
  if (info.type != H5L_TYPE_EXTERNAL) return std::nullopt;
  std::vector<char> value(info.u.val_size + 1, '\0');
  check(H5Lget_val(group.get(), name.c_str(), value.data(), value.size(), H5P_DEFAULT),
        "cannot read the link " + name);
  const char* file = nullptr;
  const char* object = nullptr;
  unsigned flags = 0;
  check(H5Lunpack_elink_val(value.data(), info.u.val_size, &flags, &file, &object),
        "cannot read the link " + name);
  return std::string(file);
}

bool has_link(const Handle& group, const std::string& name) {
  const htri_t exists = H5Lexists(group.get(), name.c_str(), H5P_DEFAULT);
  if (exists < 0) fail("cannot look up " + name);
  return exists > 0;
}

std::string read_string_attribute(const Handle& object, const std::string& name) {
  const Handle attr = open_attribute(object, name);
  const Handle type(H5Aget_type(attr.get()), H5Tclose, "H5Aget_type " + name);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) != 0) {
    throw CheckpointError("attribute '" + name + "' is not a fixed-length string");
  }
  std::string value(H5Tget_size(type.get()), '\0');
  check(H5Aread(attr.get(), type.get(), value.data()), "cannot read attribute " + name);
  if (const auto nul = value.find('\0'); nul != std::string::npos) value.resize(nul);
  return value;
}

std::uint64_t read_u64_attribute(const Handle& object, const std::string& name) {
  return read_scalar<std::uint64_t>(object, name, H5T_NATIVE_UINT64, H5T_INTEGER);
}

double read_f64_attribute(const Handle& object, const std::string& name) {
  return read_scalar<double>(object, name, H5T_NATIVE_DOUBLE, H5T_FLOAT);
}

namespace {

// A one-dimensional byte dataset of `size` bytes, chunked and checksummed, and its dataspace.
std::pair<Handle, Handle> create_byte_dataset(const Handle& parent, const std::string& name, hsize_t size) {
  // An empty dataset still needs a chunk; only an extendible one may have a chunk larger than itself.
  const hsize_t unlimited = H5S_UNLIMITED;
  Handle space(H5Screate_simple(1, &size, size == 0 ? &unlimited : nullptr), H5Sclose, "H5Screate_simple");
  const Handle dcpl = dataset_create_plist(std::min(size, kByteChunk), 1, 1);
  Handle d(
      H5Dcreate2(parent.get(), name.c_str(), H5T_STD_U8LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      H5Dclose, "cannot create dataset " + name);
  return {std::move(d), std::move(space)};
}

}  // namespace

Handle write_bytes(const Handle& parent, const std::string& name, std::span<const std::uint8_t> data) {
  std::pair<Handle, Handle> created = create_byte_dataset(parent, name, data.size());
  check(H5Dwrite(created.first.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
        "cannot write dataset " + name);
  return std::move(created.first);
}

Handle write_bytes_from_file(const Handle& parent, const std::string& name, const std::filesystem::path& file,
                             std::uint64_t size) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CheckpointError("cannot read " + file.string());
  const hsize_t total = size;
  std::pair<Handle, Handle> created = create_byte_dataset(parent, name, total);
  const Handle& d = created.first;
  const Handle& space = created.second;
  std::vector<char> buf(static_cast<std::size_t>(std::min<hsize_t>(total, 16 * kByteChunk)));
  for (hsize_t at = 0; at < total;) {
    hsize_t count = std::min<hsize_t>(buf.size(), total - at);
    if (!in.read(buf.data(), static_cast<std::streamsize>(count)))
      throw CheckpointError("cannot read " + file.string() + ": it is shorter than " + std::to_string(size));
    const Handle memory(H5Screate_simple(1, &count, nullptr), H5Sclose, "H5Screate_simple");
    check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &at, nullptr, &count, nullptr),
          "H5Sselect_hyperslab " + name);
    check(H5Dwrite(d.get(), H5T_NATIVE_UINT8, memory.get(), space.get(), H5P_DEFAULT, buf.data()),
          "cannot write dataset " + name);
    at += count;
  }
  return std::move(created.first);
}

Handle open_checked_dataset(const Handle& parent, const std::string& name) {
  return open_dataset(parent, name);
}

std::vector<std::uint8_t> read_bytes(const Handle& parent, const std::string& name) {
  return read_dataset_bytes(open_dataset(parent, name), name);
}

std::vector<std::uint8_t> read_dataset_bytes(const Handle& d, const std::string& name) {
  const Handle space(H5Dget_space(d.get()), H5Sclose, "H5Dget_space " + name);
  hsize_t size = 0;
  if (H5Sget_simple_extent_ndims(space.get()) != 1) throw CheckpointError("dataset " + name + " is not 1-D");
  check(H5Sget_simple_extent_dims(space.get(), &size, nullptr), "H5Sget_simple_extent_dims");
  std::vector<std::uint8_t> data(size);
  check(H5Dread(d.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
        "cannot read dataset " + name);
  return data;
}

void write_u64_table(const Handle& parent, const std::string& name, std::size_t columns,
                     const std::vector<std::uint64_t>& row_major) {
  const hsize_t dims[2] = {row_major.size() / columns, columns};
  const hsize_t unlimited[2] = {H5S_UNLIMITED, columns};
  const Handle space(H5Screate_simple(2, dims, dims[0] == 0 ? unlimited : nullptr), H5Sclose,
                     "H5Screate_simple");
  const Handle dcpl = dataset_create_plist(std::min(dims[0], kTableChunkRows), 2, columns);
  const Handle d(H5Dcreate2(parent.get(), name.c_str(), H5T_STD_U64LE, space.get(), H5P_DEFAULT, dcpl.get(),
                            H5P_DEFAULT),
                 H5Dclose, "cannot create dataset " + name);
  check(H5Dwrite(d.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, row_major.data()),
        "cannot write dataset " + name);
}

std::vector<std::uint64_t> read_u64_table(const Handle& parent, const std::string& name,
                                          std::size_t columns) {
  const Handle d = open_dataset(parent, name);
  const Handle space(H5Dget_space(d.get()), H5Sclose, "H5Dget_space " + name);
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_ndims(space.get()) != 2) throw CheckpointError("dataset " + name + " is not 2-D");
  check(H5Sget_simple_extent_dims(space.get(), dims, nullptr), "H5Sget_simple_extent_dims");
  if (dims[1] != columns) throw CheckpointError("dataset " + name + " has the wrong number of columns");
  std::vector<std::uint64_t> data(dims[0] * dims[1]);
  check(H5Dread(d.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
        "cannot read dataset " + name);
  return data;
}

}  // namespace pi::h5
