// convert-face-model: turns the TF.js weights of @vladmandic/face-api's face-recognition model
// (face_recognition_model-weights_manifest.json + face_recognition_model.bin) into a dlib-serialised
// dlib_face_recognition_resnet_model_v1 network, loadable by vision/ with dlib::deserialize.
//
// Why a converter: dlib's own model file is not in any registry this appliance may use (Debian apt,
// npm), but the same weights ship in the MIT-licensed npm package, in TF.js format.
//
// Mapping (ARCHITECTURE.md, "Models and data"):
//  * the 29 conv blocks, input → output: conv32_down (7×7), conv32_1..3, conv64_down, conv64_1..3,
//    conv128_down, conv128_1..2, conv256_down, conv256_1..2, conv256_down_out; each block conv1
//    then conv2 (conv32_down is a single conv) → dlib's con_ layers in the same order;
//  * <block>/conv/filters [kh,kw,in,out] + <block>/conv/bias [out] → con_ params
//    (filters [out][in][kh][kw], then bias[out]);
//  * <block>/scale/weights, /scale/biases → affine_ gamma, beta (affine_ in CONV_MODE, set through
//    get_gamma()/get_beta(): affine_ has no layer params);
//  * fc [256,128] → fc_no_bias params as is (inputs × outputs, row-major);
//  * uint8-quantised tensors are dequantised as q·scale + min.
//
// Usage: convert-face-model --manifest FILE.json --weights FILE.bin --out MODEL.dat
//        convert-face-model --landmarks shape_predictor_68_face_landmarks.dat --out MODEL.flat
//        convert-face-model --hog-detector --out dlib_frontal_face_detector.dat
// The second form writes dlib's landmark model in the flat, fast-loading form of
// vision/internal/landmark_model.h, after proving the conversion exact (round trip byte for byte).
// The third serialises dlib's built-in HOG face detector, which dlib otherwise rebuilds from a
// compressed string in every process (~0.4 s of cold start here).
// Exit: 0 written, 2 bad input (message says what), 3 internal error.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include <dlib/image_processing/frontal_face_detector.h>

#include "vision/internal/anet.h"
#include "vision/internal/landmark_model.h"

namespace {

using veridge::vision::internal::anet_type;

struct Tensor {
  std::vector<long> shape;
  std::vector<float> values;
};

[[noreturn]] void Fail(int code, const std::string& msg) {
  std::cerr << "convert-face-model: " << msg << std::endl;
  std::exit(code);
}

std::string ReadBounded(const std::filesystem::path& p, std::uintmax_t max_bytes) {
  std::error_code ec;
  auto size = std::filesystem::file_size(p, ec);
  if (ec) Fail(2, "cannot read " + p.string() + ": " + ec.message() + " (run tools/fetch-models.sh)");
  if (size > max_bytes) Fail(2, p.string() + " is larger than expected (" + std::to_string(size) + " bytes)");
  std::ifstream in(p, std::ios::binary);
  std::string data(size, '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size))) Fail(2, "read failed: " + p.string());
  return data;
}

// Parses the TF.js weights manifest and slices the binary into named float tensors.
std::map<std::string, Tensor> LoadTfjs(const std::filesystem::path& manifest_path,
                                       const std::filesystem::path& weights_path) {
  const std::string manifest_text = ReadBounded(manifest_path, 1u << 20);
  const std::string bin = ReadBounded(weights_path, 64u << 20);
  nlohmann::json manifest = nlohmann::json::parse(manifest_text, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_array() || manifest.size() != 1)
    Fail(2, "weights manifest is not a TF.js manifest with one weight group: " + manifest_path.string());
  std::map<std::string, Tensor> out;
  std::size_t offset = 0;
  for (const auto& w : manifest[0].at("weights")) {
    Tensor t;
    std::size_t count = 1;
    for (const auto& d : w.at("shape")) {
      t.shape.push_back(d.get<long>());
      count *= d.get<std::size_t>();
    }
    if (w.at("dtype") != "float32") Fail(2, "unexpected dtype for " + w.at("name").get<std::string>());
    t.values.resize(count);
    if (w.contains("quantization")) {
      const auto& q = w.at("quantization");
      if (q.at("dtype") != "uint8") Fail(2, "unsupported quantisation for " + w.at("name").get<std::string>());
      const double scale = q.at("scale").get<double>();
      const double min = q.at("min").get<double>();
      if (offset + count > bin.size()) Fail(2, "weights file too short (truncated download?)");
      for (std::size_t i = 0; i < count; ++i) {
        const auto byte = static_cast<unsigned char>(bin[offset + i]);
        t.values[i] = static_cast<float>(byte * scale + min);
      }
      offset += count;
    } else {
      if (offset + 4 * count > bin.size()) Fail(2, "weights file too short (truncated download?)");
      std::memcpy(t.values.data(), bin.data() + offset, 4 * count);  // little-endian float32, as TF.js
      offset += 4 * count;
    }
    out.emplace(w.at("name").get<std::string>(), std::move(t));
  }
  if (offset != bin.size())
    Fail(2, "weights file has " + std::to_string(bin.size() - offset) + " unexpected trailing bytes");
  return out;
}

const Tensor& Get(const std::map<std::string, Tensor>& m, const std::string& name, std::vector<long> shape) {
  auto it = m.find(name);
  if (it == m.end()) Fail(2, "tensor missing from manifest: " + name);
  if (it->second.shape != shape) Fail(2, "tensor " + name + " has an unexpected shape");
  return it->second;
}

template <typename T> struct IsCon : std::false_type {};
template <long A, long B, long C, int D, int E, int F, int G>
struct IsCon<dlib::con_<A, B, C, D, E, F, G>> : std::true_type {};
template <typename T> struct IsFc : std::false_type {};
template <unsigned long N, dlib::fc_bias_mode M> struct IsFc<dlib::fc_<N, M>> : std::true_type {};

// Block prefixes in input → output order.
std::vector<std::string> ConvPrefixes() {
  std::vector<std::string> p = {"conv32_down"};
  auto add = [&p](const std::string& block) {
    p.push_back(block + "/conv1");
    p.push_back(block + "/conv2");
  };
  for (auto b : {"conv32_1", "conv32_2", "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3",
                 "conv128_down", "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2",
                 "conv256_down_out"})
    add(b);
  return p;
}

}  // namespace

int main(int argc, char** argv) try {
  std::filesystem::path manifest, weights, landmarks, out;
  if (argc == 4 && std::string(argv[1]) == "--hog-detector" && std::string(argv[2]) == "--out") {
    std::ofstream o(argv[3], std::ios::binary | std::ios::trunc);
    dlib::serialize(dlib::get_frontal_face_detector(), o);
    if (!o.flush()) Fail(3, std::string("cannot write ") + argv[3]);
    return 0;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--manifest") manifest = argv[i + 1];
    else if (a == "--landmarks") landmarks = argv[i + 1];
    else if (a == "--weights") weights = argv[i + 1];
    else if (a == "--out") out = argv[i + 1];
    else Fail(2, "unknown option " + a);
  }
  if (!landmarks.empty() && !out.empty() && argc == 5) {
    auto flat = veridge::vision::internal::FlattenShapePredictor(ReadBounded(landmarks, 256u << 20));
    if (!flat.ok()) Fail(flat.status().ExitCode(), landmarks.string() + ": " + flat.status().ToString());
    std::ofstream o(out, std::ios::binary | std::ios::trunc);
    if (!o.write(flat->data(), static_cast<std::streamsize>(flat->size())) || !o.flush())
      Fail(3, "cannot write " + out.string());
    std::cout << "wrote " << out.string() << " (" << flat->size() << " bytes, exact)\n";
    return 0;
  }
  if (manifest.empty() || weights.empty() || out.empty() || argc % 2 == 0)
    Fail(2, "usage: convert-face-model --manifest FILE.json --weights FILE.bin --out MODEL.dat");

  const auto tensors = LoadTfjs(manifest, weights);

  anet_type net;
  std::vector<dlib::tensor*> con_params;
  std::vector<dlib::affine_*> affines;
  dlib::tensor* fc_params = nullptr;
  // A default affine_ sets itself up per element (FC mode); this network needs per channel.
  dlib::visit_computational_layers(net, [&](auto& l) {
    using L = std::decay_t<decltype(l)>;
    if constexpr (std::is_same_v<L, dlib::affine_>) l = dlib::affine_(dlib::CONV_MODE);
  });
  // One forward pass allocates every layer's parameters with its real shape.
  dlib::matrix<dlib::rgb_pixel> dummy(150, 150);
  dlib::assign_all_pixels(dummy, dlib::rgb_pixel(0, 0, 0));
  net(dummy);
  dlib::visit_computational_layers(net, [&](auto& l) {
    using L = std::decay_t<decltype(l)>;
    if constexpr (IsCon<L>::value) con_params.push_back(&l.get_layer_params());
    if constexpr (std::is_same_v<L, dlib::affine_>) affines.push_back(&l);
    if constexpr (IsFc<L>::value) fc_params = &l.get_layer_params();
  });
  // visit order is output → input.
  std::reverse(con_params.begin(), con_params.end());
  std::reverse(affines.begin(), affines.end());
  const auto prefixes = ConvPrefixes();
  if (con_params.size() != prefixes.size() || affines.size() != prefixes.size() || fc_params == nullptr)
    Fail(3, "network structure does not have 29 conv + affine layers and one fc");

  long in_channels = 3;
  for (std::size_t li = 0; li < prefixes.size(); ++li) {
    const std::string& p = prefixes[li];
    const long k = li == 0 ? 7 : 3;
    const long n_out = static_cast<long>(con_params[li]->size() / (in_channels * k * k + 1));
    const Tensor& f = Get(tensors, p + "/conv/filters", {k, k, in_channels, n_out});
    const Tensor& b = Get(tensors, p + "/conv/bias", {n_out});
    const Tensor& g = Get(tensors, p + "/scale/weights", {n_out});
    const Tensor& be = Get(tensors, p + "/scale/biases", {n_out});
    if (static_cast<long>(con_params[li]->size()) != n_out * in_channels * k * k + n_out)
      Fail(3, "layer " + p + ": dlib params size mismatch");
    float* dst = con_params[li]->host();
    // TF [kh][kw][in][out] → dlib [out][in][kh][kw].
    for (long o = 0; o < n_out; ++o)
      for (long i = 0; i < in_channels; ++i)
        for (long y = 0; y < k; ++y)
          for (long x = 0; x < k; ++x)
            dst[((o * in_channels + i) * k + y) * k + x] = f.values[((y * k + x) * in_channels + i) * n_out + o];
    for (long o = 0; o < n_out; ++o) dst[n_out * in_channels * k * k + o] = b.values[o];
    auto gamma = affines[li]->get_gamma();
    auto beta = affines[li]->get_beta();
    if (static_cast<long>(gamma.size()) != n_out || static_cast<long>(beta.size()) != n_out)
      Fail(3, "layer " + p + ": affine is not in per-channel mode");
    std::copy(g.values.begin(), g.values.end(), gamma.host());
    std::copy(be.values.begin(), be.values.end(), beta.host());
    in_channels = n_out;
  }
  const Tensor& fc = Get(tensors, "fc", {256, 128});
  if (fc_params->size() != fc.values.size()) Fail(3, "fc: dlib params size mismatch");
  std::copy(fc.values.begin(), fc.values.end(), fc_params->host());
  if (tensors.size() != prefixes.size() * 4 + 1) Fail(2, "manifest has tensors this converter does not map");

  net.clean();
  const std::filesystem::path tmp = out.string() + ".tmp";
  dlib::serialize(tmp.string()) << net;
  std::filesystem::rename(tmp, out);
  std::cout << "wrote " << out.string() << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "convert-face-model: internal error: " << e.what() << std::endl;
  return 3;
}
