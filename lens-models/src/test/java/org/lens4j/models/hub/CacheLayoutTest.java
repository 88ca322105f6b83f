package org.lens4j.models.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.models.hub.HfHubDownloadTest.CONFIG;
import static org.lens4j.models.hub.HfHubDownloadTest.REPO;
import static org.lens4j.models.hub.HfHubDownloadTest.WEIGHTS;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache on disk is huggingface_hub's: a cache Python filled is read as is, and what lens4j
 * writes is exactly what Python writes (blob names, relative links, refs without newline).
 */
class CacheLayoutTest {

  /** A commit other than the fake hub's, so a hit can only come from the hand-made cache. */
  static final String PY_COMMIT = "a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0";

  @TempDir Path tmp;
  FakeHub server;
  Path cacheDir;
  Path storage;

  @BeforeEach
  void startServer() throws Exception {
    server = new FakeHub()
        .add(REPO, "config.json", CONFIG, false)
        .add(REPO, "model.safetensors", WEIGHTS, true);
    cacheDir = tmp.resolve("hub");
    storage = cacheDir.resolve("models--lens4j-test--tiny-model");
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  HubSettings settings() {
    return new HubSettings(server.endpoint(), cacheDir, false, null, false,
        Duration.ofSeconds(5), Duration.ofSeconds(5));
  }

  /**
   * Lays a repo out by hand the way huggingface_hub's hf_hub_download does: blobs named by ETag,
   * refs/main holding the commit without newline, snapshot entries as relative symlinks
   * (os.path.relpath from the entry's folder to the blob).
   */
  void layOutLikePython() throws Exception {
    Path blobs = Files.createDirectories(storage.resolve("blobs"));
    Files.write(blobs.resolve(FakeHub.gitSha1(CONFIG)), CONFIG);
    Files.write(blobs.resolve(FakeHub.sha256(WEIGHTS)), WEIGHTS);
    Files.createDirectories(storage.resolve("refs"));
    Files.writeString(storage.resolve("refs/main"), PY_COMMIT);
    Path snapshot = Files.createDirectories(storage.resolve("snapshots").resolve(PY_COMMIT));
    Files.createSymbolicLink(snapshot.resolve("config.json"),
        Path.of("../../blobs/" + FakeHub.gitSha1(CONFIG)));
    Files.createDirectories(snapshot.resolve("onnx"));
    Files.createSymbolicLink(snapshot.resolve("onnx/model.safetensors"),
        Path.of("../../../blobs/" + FakeHub.sha256(WEIGHTS)));
  }

  @Test
  void readsCacheFilledByPythonOfflineByBranchAndByCommit() throws Exception {
    layOutLikePython();
    HfHub hub = new HfHub(settings().withOffline(true));

    Path config = hub.download(REPO, "config.json", null);
    assertThat(config).isEqualTo(storage.resolve("snapshots").resolve(PY_COMMIT).resolve("config.json"));
    assertThat(Files.readAllBytes(config)).isEqualTo(CONFIG);
    assertThat(Files.readAllBytes(hub.download(REPO, "onnx/model.safetensors", PY_COMMIT)))
        .isEqualTo(WEIGHTS);
    assertThat(hub.listFiles(REPO, "main")).containsExactly("config.json", "onnx/model.safetensors");
    assertThat(server.requestCount()).isZero();
  }

  @Test
  void readsCacheFilledByPythonOnlineWithoutAskingTheHub() throws Exception {
    layOutLikePython();

    Path config = new HfHub(settings()).download(REPO, "config.json", "main");

    assertThat(config.toString()).contains(PY_COMMIT);
    assertThat(server.requestCount()).isZero();
  }

  @Test
  void toleratesRefWithTrailingNewlineAndNamesABrokenRef() throws Exception {
    layOutLikePython();
    Files.writeString(storage.resolve("refs/main"), PY_COMMIT + "\n");
    HfHub hub = new HfHub(settings().withOffline(true));
    assertThat(hub.cached(REPO, "config.json", null)).isPresent();

    Files.writeString(storage.resolve("refs/main"), "not a commit");
    assertThatThrownBy(() -> hub.cached(REPO, "config.json", null))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(storage.resolve("refs/main").toString())
        .hasMessageContaining("'not a commit'");
  }

  @Test
  void writesExactlyWhatPythonWrites() throws Exception {
    HfHub hub = new HfHub(settings());
    hub.download(REPO, "config.json", null);
    hub.download(REPO, "model.safetensors", null);

    String gitSha = FakeHub.gitSha1(CONFIG);
    String sha = FakeHub.sha256(WEIGHTS);
    Path snapshot = storage.resolve("snapshots").resolve(FakeHub.COMMIT);
    assertThat(entries(storage)).containsExactlyInAnyOrder(
        "blobs/" + gitSha,
        "blobs/" + sha,
        "refs/main",
        "snapshots/" + FakeHub.COMMIT + "/config.json",
        "snapshots/" + FakeHub.COMMIT + "/model.safetensors");
    assertThat(Files.readAllBytes(storage.resolve("refs/main")))
        .isEqualTo(FakeHub.COMMIT.getBytes(StandardCharsets.US_ASCII));
    assertThat(Files.readSymbolicLink(snapshot.resolve("config.json")))
        .isEqualTo(Path.of("../../blobs/" + gitSha));
    assertThat(Files.readSymbolicLink(snapshot.resolve("model.safetensors")))
        .isEqualTo(Path.of("../../blobs/" + sha));
    assertThat(Files.readAllBytes(storage.resolve("blobs").resolve(sha))).isEqualTo(WEIGHTS);
    assertThat(cacheDir.resolve(".locks/models--lens4j-test--tiny-model").resolve(sha + ".lock"))
        .exists();
  }

  @Test
  void withoutSymlinksTheSnapshotHoldsTheFileItself() throws Exception {
    RepoCache cache = new RepoCache(cacheDir, REPO, false);
    Path blob = cache.blob("etag1");
    Files.createDirectories(blob.getParent());
    Files.write(blob, CONFIG);

    Path existing = cache.pointer(PY_COMMIT, "config.json");
    cache.link(blob, existing, false);
    assertThat(existing).isRegularFile();
    assertThat(Files.isSymbolicLink(existing)).isFalse();
    assertThat(Files.readAllBytes(existing)).isEqualTo(CONFIG);
    assertThat(blob).exists();

    Path moved = cache.pointer(PY_COMMIT, "sub/config.json");
    cache.link(blob, moved, true);
    assertThat(Files.isSymbolicLink(moved)).isFalse();
    assertThat(Files.readAllBytes(moved)).isEqualTo(CONFIG);
    assertThat(blob).doesNotExist();

    Files.createDirectories(storage.resolve("refs"));
    Files.writeString(storage.resolve("refs/main"), PY_COMMIT);
    HfHub hub = new HfHub(settings().withOffline(true));
    assertThat(hub.download(REPO, "sub/config.json", null)).isEqualTo(moved);
  }

  private static List<String> entries(Path root) throws Exception {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(p -> !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
          .map(p -> root.relativize(p).toString())
          .collect(Collectors.toList());
    }
  }
}
