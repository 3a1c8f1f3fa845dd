// Issue 13 regressions through the real `veridge` binary: every input path that a FIFO, a device, a
// directory or a bad name can be given to is refused with exit 2 and a clear message, in bounded
// time; usage errors keep the CLI contract (JSON under --json, the unknown subcommand named);
// inputs are checked before any session starts.
//
// Every run is wrapped in timeout(1): on the old code a FIFO blocked open() forever, so a
// regression shows as exit 124 here (a failure), never as a hung test.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.h"

namespace fs = std::filesystem;
using veridge::testing::TempDir;
using veridge::testing::VeridgeBinary;

namespace {

constexpr int kTimedOut = 124;  // timeout(1)'s exit status

struct Run {
  int rc = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  nlohmann::json Json() const { return nlohmann::json::parse(out.substr(0, out.find('\n')), nullptr, false); }
};

std::string Q(const fs::path& p) { return "'" + p.string() + "'"; }

// Runs `veridge ARGS` with at most `seconds` of wall time (then SIGKILL).
Run Veridge(const std::string& args, const TempDir& tmp, int seconds = 20, const std::string& env = "") {
  Run r;
  const fs::path err = tmp / ".stderr";
  std::string cmd = env + " timeout -s KILL " + std::to_string(seconds) + " " + Q(VeridgeBinary()) + " " + args +
                    " 2>" + Q(err) + " </dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (r.rc == 137) r.rc = kTimedOut;  // SIGKILL from timeout -s KILL
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

void Fifo(const fs::path& p) { REQUIRE(::mkfifo(p.c_str(), 0600) == 0); }

void Write(const fs::path& p, const std::string& text, unsigned mode = 0600) {
  std::ofstream(p) << text;
  ::chmod(p.c_str(), mode);
}

// A FIFO (or other special file) given as input: exit 2 with not_a_file, in time.
void ExpectRefused(const Run& r, const std::string& what) {
  INFO(what << "\nstdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.rc != kTimedOut);
  CHECK(r.rc == 2);
  CHECK((r.out + r.err).find("not_a_file") != std::string::npos);
}

}  // namespace

TEST_CASE("a FIFO as any file input of cert verify / cert prove is refused, never waited on") {
  REQUIRE(fs::exists(VeridgeBinary()));
  TempDir dir;
  Fifo(dir / "fifo.pem");
  Write(dir / "real.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  const std::string f = Q(dir / "fifo.pem"), real = Q(dir / "real.pem");
  ExpectRefused(Veridge("cert verify --json --trust " + real + " " + f, dir), "LEAF");
  ExpectRefused(Veridge("cert verify --json --trust " + f + " " + real, dir), "--trust");
  ExpectRefused(Veridge("cert verify --json --trust " + real + " --untrusted " + f + " " + real, dir), "--untrusted");
  ExpectRefused(Veridge("cert verify --json --trust " + real + " --crl " + f + " " + real, dir), "--crl");
  ExpectRefused(Veridge("cert verify --json --trust " + real + " --ocsp " + f + " " + real, dir), "--ocsp");
  ExpectRefused(Veridge("cert prove --json --module /usr/lib/none.so --pin-file " + f, dir), "--pin-file");
  Write(dir / "pin", "1234\n");
  ExpectRefused(Veridge("cert prove --json --module " + f + " --pin-file " + Q(dir / "pin"), dir), "--module");
}

TEST_CASE("a FIFO as any file input of webhook verify is refused, never waited on") {
  REQUIRE(fs::exists(VeridgeBinary()));
  TempDir dir;
  Fifo(dir / "fifo");
  Write(dir / "whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
  Write(dir / "headers", "webhook-id: msg_1\nwebhook-timestamp: 1\nwebhook-signature: v1,x\n");
  Write(dir / "body", "{}");
  const std::string fifo = Q(dir / "fifo");
  const std::string s = " --secret-file " + Q(dir / "whsec"), h = " --headers " + Q(dir / "headers"), b = " --body " + Q(dir / "body");
  ExpectRefused(Veridge("webhook verify --json --secret-file " + fifo + h + b, dir), "--secret-file");
  ExpectRefused(Veridge("webhook verify --json" + s + " --headers " + fifo + b, dir), "--headers");
  ExpectRefused(Veridge("webhook verify --json" + s + h + " --body " + fifo, dir), "--body");
  ExpectRefused(Veridge("webhook verify --json" + s + h + b + " --device-ca " + fifo, dir), "--device-ca");
  ExpectRefused(Veridge("webhook verify --json" + s + h + b + " --device-key " + fifo, dir), "--device-key");
}

TEST_CASE("a FIFO as --config, or in the config's key, secret and store paths, is refused") {
  REQUIRE(fs::exists(VeridgeBinary()));
  TempDir dir;
  Fifo(dir / "fifo");
  const std::string fifo = Q(dir / "fifo");
  for (const char* cmd : {"db check --json", "audit verify --json", "outbox run --json", "keys init --json", "outbox replay 1 --json"})
    ExpectRefused(Veridge(std::string(cmd) + " --config " + fifo, dir), std::string(cmd) + " --config FIFO");
  // doctor reports it as a failed check (its exit status for a bad config is another item of issue 13).
  auto doc = Veridge("doctor --json --config " + fifo, dir);
  CHECK(doc.rc != kTimedOut);
  CHECK(doc.out.find("not_a_file") != std::string::npos);

  // [store].path is a FIFO: refused before SQLite (or the store's plaintext probe) opens it.
  Write(dir / "store.key", std::string(32, 'k'));
  Write(dir / "fifo-db.toml", "[store]\npath = \"fifo\"\nkey_file = \"store.key\"\n");
  for (const char* cmd : {"db check --json", "audit verify --json", "db purge --json"})
    ExpectRefused(Veridge(std::string(cmd) + " --config " + Q(dir / "fifo-db.toml"), dir), std::string(cmd) + " [store].path FIFO");
  // ... and so is a FIFO where SQLite would put the WAL.
  Write(dir / "real.db", "");
  Fifo(dir / "real.db-wal");
  Write(dir / "wal.toml", "[store]\npath = \"real.db\"\nkey_file = \"store.key\"\n");
  ExpectRefused(Veridge("db check --json --config " + Q(dir / "wal.toml"), dir), "[store].path-wal FIFO");

  // [store].key_file is a FIFO (the database exists, so the key is read).
  Write(dir / "v.db", std::string(4096, 'x'));
  Write(dir / "fifo-key.toml", "[store]\npath = \"v.db\"\nkey_file = \"fifo\"\n");
  ExpectRefused(Veridge("db check --json --config " + Q(dir / "fifo-key.toml"), dir), "[store].key_file FIFO");

  // [lender].webhook_secret_file is a FIFO.
  Write(dir / "fifo-secret.toml", "[store]\npath = \"v.db\"\nkey_file = \"store.key\"\n[lender]\nurl = \"https://127.0.0.1:9/h\"\n"
                                  "webhook_secret_file = \"fifo\"\n");
  ExpectRefused(Veridge("outbox run --json --config " + Q(dir / "fifo-secret.toml"), dir), "[lender].webhook_secret_file FIFO");
}

TEST_CASE("a key_file that is a directory is named as such, not 'run chmod 600'") {
  REQUIRE(fs::exists(VeridgeBinary()));
  TempDir dir;
  fs::create_directory(dir / "keydir");
  ::chmod((dir / "keydir").c_str(), 0755);
  Write(dir / "v.db", std::string(4096, 'x'));
  Write(dir / "c.toml", "[store]\npath = \"v.db\"\nkey_file = \"keydir\"\n");
  auto r = Veridge("db check --json --config " + Q(dir / "c.toml"), dir);
  CHECK(r.rc == 2);
  CHECK(r.Json()["error"]["code"] == "not_a_file");
  CHECK(r.out.find("chmod") == std::string::npos);
  auto doc = Veridge("doctor --json --config " + Q(dir / "c.toml"), dir);
  INFO(doc.out);
  CHECK(doc.out.find("directory") != std::string::npos);
  CHECK(doc.out.find("chmod 600 " + (dir / "keydir").string()) == std::string::npos);
}

TEST_CASE("liveness check: a FIFO, /dev/zero or a directory as the source is exit 2 in bounded time") {
  REQUIRE(fs::exists(VeridgeBinary()));
  TempDir dir;
  Fifo(dir / "capture.jpg");
  Fifo(dir / "capture.mp4");
  ExpectRefused(Veridge("liveness check --json " + Q(dir / "capture.jpg"), dir), "FIFO .jpg");
  ExpectRefused(Veridge("liveness check --json " + Q(dir / "capture.mp4"), dir), "FIFO .mp4");
  ExpectRefused(Veridge("liveness check --json /dev/zero", dir), "/dev/zero");  // was exit 3
  fs::create_directory(dir / "clip.mp4");
  auto d = Veridge("liveness check --json " + Q(dir / "clip.mp4"), dir);
  CHECK(d.rc == 2);
  // A link loop is named, not "no such file".
  fs::create_symlink(dir / "b.mp4", dir / "a.mp4");
  fs::create_symlink(dir / "a.mp4", dir / "b.mp4");
  auto loop = Veridge("liveness check --json " + Q(dir / "a.mp4"), dir);
  CHECK(loop.rc == 2);
  CHECK(loop.Json()["error"]["code"] == "bad_path");
  CHECK(loop.out.find("symbolic links") != std::string::npos);
}

TEST_CASE("face embed / face compare / verify: a FIFO or a link loop as an image is exit 2 in bounded time") {
  REQUIRE(fs::exists(VeridgeBinary()));
  const fs::path models = veridge::testing::DevModelDir();
  VERIDGE_REQUIRE_PATH(models / "dlib_face_recognition_resnet_model_v1.dat", "converted face model (run tools/fetch-models.sh)");
  auto ref = veridge::testing::SharedData("faces/tv-cast-a/amy/amy1.png");
  VERIDGE_REQUIRE_PATH(ref, "tv-cast-a faces");
  TempDir dir;
  Fifo(dir / "fifo.jpg");
  fs::create_symlink(dir / "l2.jpg", dir / "l1.jpg");
  fs::create_symlink(dir / "l1.jpg", dir / "l2.jpg");
  const std::string env = "VERIDGE_MODEL_DIR=" + Q(models);
  ExpectRefused(Veridge("face compare --json " + Q(ref) + " " + Q(dir / "fifo.jpg"), dir, 60, env), "face compare PROBE FIFO");
  auto loop = Veridge("face compare --json " + Q(ref) + " " + Q(dir / "l1.jpg"), dir, 60, env);
  CHECK(loop.rc == 2);
  CHECK(loop.out.find("symbolic links") != std::string::npos);
  CHECK(loop.out.find("does not exist") == std::string::npos);

  Write(dir / "veridge.toml", "[models]\ndir = \"" + models.string() + "\"\n[policy]\nrequire = [\"face\"]\n[liveness]\nenabled = false\n");
  const std::string cfg = " --config " + Q(dir / "veridge.toml");
  ExpectRefused(Veridge("verify --json" + cfg + " --reference " + Q(dir / "fifo.jpg") + " --capture " + Q(ref), dir, 60),
                "verify --reference FIFO");
  // A FIFO capture: no hang; the session fails closed (the face factor's capture error rejects it).
  auto cap = Veridge("verify --json" + cfg + " --reference " + Q(ref) + " --capture " + Q(dir / "fifo.jpg"), dir, 60);
  INFO(cap.out << cap.err);
  CHECK(cap.rc == 1);
  CHECK(cap.Json()["decision"] == "rejected");
}

TEST_CASE("verify refuses a bad --applicant-ref before loading anything or capturing") {
  REQUIRE(fs::exists(VeridgeBinary()));
  TempDir dir;
  Write(dir / "veridge.toml", "[policy]\nrequire = [\"face\"]\n");
  Fifo(dir / "capture.mp4");  // if anything tried to capture, this would hang (and then fail by timeout)
  const std::string base = "verify --json --config " + Q(dir / "veridge.toml") + " --reference " + Q(dir / "ref.jpg") +
                           " --capture " + Q(dir / "capture.mp4") + " --applicant-ref ";
  for (const std::string& ref : {std::string(100 * 1024, 'A'), std::string("bad\xff\xfe"), std::string("a\x01z"),
                                 std::string("\xc0\xaf")}) {
    auto r = Veridge(base + "'" + ref + "'", dir, 10);
    INFO(ref.size());
    CHECK(r.rc == 2);
    CHECK(r.Json()["error"]["code"] == "bad_applicant_ref");
  }
}

TEST_CASE("usage errors keep the CLI contract: JSON under --json, unknown subcommands named") {
  REQUIRE(fs::exists(VeridgeBinary()));
  TempDir dir;
  auto missing = Veridge("cert verify --json", dir);
  CHECK(missing.rc == 2);
  CHECK(missing.Json()["error"]["code"] == "usage");
  CHECK(missing.Json()["error"]["message"].get<std::string>().find("--trust") != std::string::npos);
  auto bad_value = Veridge("webhook verify --json --secret-file a --headers b --body c --tolerance -5", dir);
  CHECK(bad_value.rc == 2);
  CHECK(bad_value.Json()["error"]["code"] == "usage");

  auto top = Veridge("frobnicate", dir);
  CHECK(top.rc == 2);
  CHECK(top.err.find("\"frobnicate\" is not a subcommand of veridge") != std::string::npos);
  CHECK(top.err.find("A subcommand is required") == std::string::npos);
  auto nested = Veridge("db frob --json", dir);
  CHECK(nested.rc == 2);
  CHECK(nested.Json()["error"]["code"] == "unknown_command");
  CHECK(nested.Json()["error"]["message"].get<std::string>().find("veridge db") != std::string::npos);
  // A known group without its subcommand still says what is missing.
  auto none = Veridge("db", dir);
  CHECK(none.rc == 2);
  CHECK(none.err.find("subcommand") != std::string::npos);
}
