// fraud/FlatIndex over real faces: tv-cast-a (8 people × 5 images) embedded with the product's
// own vision pipeline. Each image, searched against all the others, finds the same person first;
// with that person's images removed it finds nobody within vision's 1:1 threshold. Skips when
// the shared faces or the converted face model are absent.
#include <cmath>

#include "fraud/fraud.h"
#include "support/test_support.h"
#include "vision/vision.h"

using namespace veridge;

TEST_CASE("Flat index on real faces: each tv-cast-a image finds its own person first") {
  VERIDGE_REQUIRE_PATH(testing::DevModelDir() / "dlib_face_recognition_resnet_model_v1.dat",
                       "converted face model (run tools/fetch-models.sh)");
  const auto root = testing::SharedData("faces/tv-cast-a");
  VERIDGE_REQUIRE_PATH(root, "tv-cast-a faces");
  vision::VisionOptions o;
  o.model_dir = testing::DevModelDir();
  auto analyzer = vision::FaceAnalyzer::Create(o);
  REQUIRE(analyzer.ok());
  std::vector<std::pair<std::string, vision::Descriptor>> faces;  // person, descriptor
  for (const auto& person : std::filesystem::directory_iterator(root))
    for (const auto& file : std::filesystem::directory_iterator(person.path())) {
      auto img = vision::DecodeImageFile(file.path());
      REQUIRE(img.ok());
      auto face = (*analyzer)->AnalyzeSingleFace(*img);
      if (face.ok()) faces.push_back({person.path().filename().string(), face->descriptor});
    }
  REQUIRE(faces.size() >= 30);

  fraud::FlatIndex index;
  for (size_t i = 0; i < faces.size(); ++i) REQUIRE(index.Add(std::int64_t(i), faces[i].second).ok());
  int own_first = 0, stranger_within = 0;
  for (size_t i = 0; i < faces.size(); ++i) {
    auto hits = index.Search(faces[i].second, 2);
    REQUIRE(hits.ok());
    REQUIRE(hits->size() == 2);
    CHECK(hits->at(0).id == std::int64_t(i));  // itself, at distance 0
    CHECK(hits->at(0).distance < 1e-6f);
    const auto& next = faces[size_t(hits->at(1).id)];
    own_first += next.first == faces[i].first;
    // The distance the index reports is vision's 1:1 distance.
    CHECK(std::abs(hits->at(1).distance - vision::Distance(faces[i].second, next.second)) < 1e-5);
  }
  // Same person as the nearest other image for nearly every probe (eval-face measures 1:1
  // accuracy on this set; a single miss is a hard pose or light).
  CHECK(own_first >= int(faces.size()) - 2);

  // Remove the probe's own person: no stranger is within vision's 0.6 (eval-face: 700 of 700
  // different-person pairs of this set are farther).
  for (size_t i = 0; i < faces.size(); ++i) {
    fraud::FlatIndex others;
    for (size_t j = 0; j < faces.size(); ++j)
      if (faces[j].first != faces[i].first) REQUIRE(others.Add(std::int64_t(j), faces[j].second).ok());
    auto hits = others.Search(faces[i].second, 1, 0.6f);
    REQUIRE(hits.ok());
    stranger_within += !hits->empty();
  }
  CHECK(stranger_within == 0);
}
