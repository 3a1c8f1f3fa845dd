#include "vision/models.h"

#include <openssl/evp.h>

#include <memory>

#include "common/files.h"
#include "common/hex.h"
#include "common/sha256.h"

namespace veridge::vision {

const std::vector<ModelEntry>& ManifestModels() {
  static const std::vector<ModelEntry> kModels = {
#include "vision/manifest_table.inc"
  };
  return kModels;
}

Result<std::string> Sha256OfFile(const std::filesystem::path& path) {
  // Through InputFile: a FIFO or device placed in the model directory is refused, not waited on.
  auto f = InputFile::Open(path, kMaxModelFileBytes);
  if (!f.ok()) return f.status();
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return Status::Internal("sha256_failed", "OpenSSL could not start a SHA-256 digest");
  std::vector<char> buf(1 << 20);
  while (true) {
    auto n = f->Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), *n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return ToHex(md, len);
}

namespace {
const ModelEntry* FindEntry(std::string_view file) {
  for (const auto& m : ManifestModels())
    if (m.file == file) return &m;
  return nullptr;
}
Status Mismatch(const std::filesystem::path& path, const std::string& got, const std::string& want) {
  return Status::Corruption("model_checksum_mismatch",
                            "model file " + path.string() + " has sha256 " + got + ", expected " + want +
                                " (models/manifest.json): it is damaged or not the expected model; run "
                                "tools/fetch-models.sh to replace it");
}
}  // namespace

Result<std::string> ReadModel(const std::filesystem::path& dir, std::string_view file, bool verify,
                              std::uint64_t max_bytes) {
  auto path = ResolveModel(dir, file, /*verify=*/false);
  if (!path.ok()) return path.status();
  auto data = ReadFileBounded(*path, max_bytes);
  if (!data.ok()) {
    if (data.status().code() == "file_too_large")
      return Status::Corruption("model_too_large", "model file " + path->string() + " is larger than any expected model: run tools/fetch-models.sh");
    return data.status().WithContext("reading model");
  }
  if (!verify) return data;
  const ModelEntry* entry = FindEntry(file);
  if (entry == nullptr)
    return Status::Internal("model_unknown", std::string(file) + " is not listed in models/manifest.json");
  const std::string got = Sha256Hex(*data);
  if (got != entry->sha256) return Mismatch(*path, got, entry->sha256);
  return data;
}

Result<std::filesystem::path> ResolveModel(const std::filesystem::path& dir, std::string_view file, bool verify) {
  const std::filesystem::path path = dir / std::string(file);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return Status::NotFound("model_missing", "model file " + path.string() +
                                                 " not found: run tools/fetch-models.sh (or set --model-dir / "
                                                 "VERIDGE_MODEL_DIR to the model directory)");
  if (!verify) return path;
  const ModelEntry* entry = FindEntry(file);
  if (entry == nullptr)
    return Status::Internal("model_unknown", std::string(file) + " is not listed in models/manifest.json");
  auto sha = Sha256OfFile(path);
  if (!sha.ok()) return sha.status().WithContext("checking model " + path.string());
  if (*sha != entry->sha256) return Mismatch(path, *sha, entry->sha256);
  return path;
}

}  // namespace veridge::vision
