package org.lens4j.models.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads from a hub on 127.0.0.1: regular and LFS files, the cache, tokens and HTTP errors. */
class HfHubDownloadTest {

  static final String REPO = "lens4j-test/tiny-model";
  static final byte[] CONFIG = "{\"n_layers\": 2}\n".getBytes(StandardCharsets.UTF_8);
  static final byte[] WEIGHTS = randomBytes(300_000, 7);

  @TempDir Path tmp;
  FakeHub server;

  @BeforeEach
  void startServer() throws Exception {
    server = new FakeHub()
        .add(REPO, "config.json", CONFIG, false)
        .add(REPO, "model.safetensors", WEIGHTS, true);
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  HubSettings settings() {
    return new HubSettings(server.endpoint(), tmp.resolve("hub"), false, null, false,
        Duration.ofSeconds(5), Duration.ofSeconds(5));
  }

  static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void downloadsRegularFileIntoSnapshotWithOneHeadAndOneGet() throws Exception {
    Path path = new HfHub(settings()).download(REPO, "config.json", null);

    assertThat(Files.readAllBytes(path)).isEqualTo(CONFIG);
    assertThat(path).isEqualTo(tmp.resolve("hub/models--lens4j-test--tiny-model/snapshots")
        .resolve(FakeHub.COMMIT).resolve("config.json"));
    assertThat(server.requests()).extracting(FakeHub.Request::method).containsExactly("HEAD", "GET");
  }

  @Test
  void downloadsLfsFileThroughRedirectAndVerifiesSha256() throws Exception {
    Path path = new HfHub(settings()).download(REPO, "model.safetensors", "main");

    assertThat(Files.readAllBytes(path)).isEqualTo(WEIGHTS);
    Path blob = tmp.resolve("hub/models--lens4j-test--tiny-model/blobs")
        .resolve(FakeHub.sha256(WEIGHTS));
    assertThat(path.toRealPath()).isEqualTo(blob.toRealPath());
    assertThat(server.requests()).extracting(r -> r.server() + " " + r.method())
        .containsExactly("hub HEAD", "cdn GET");
  }

  @Test
  void secondCallIsServedFromTheCacheWithoutAnyRequest() throws Exception {
    HfHub hub = new HfHub(settings());
    Path first = hub.download(REPO, "model.safetensors", null);
    Path firstConfig = hub.download(REPO, "config.json", null);
    server.clearRequests();

    Path again = new HfHub(settings()).download(REPO, "model.safetensors", null);
    Path againConfig = hub.download(REPO, "config.json", "main");
    Path byCommit = hub.download(REPO, "config.json", FakeHub.COMMIT);

    assertThat(server.requestCount()).isZero();
    assertThat(again).isEqualTo(first);
    assertThat(againConfig).isEqualTo(firstConfig);
    assertThat(byCommit).isEqualTo(firstConfig);
    assertThat(hub.cached(REPO, "model.safetensors", null)).contains(first);
  }

  @Test
  void fileInSubfolderAndNameNeedingEscapes() throws Exception {
    byte[] content = "tok".getBytes(StandardCharsets.UTF_8);
    server.add(REPO, "tokenizer dir/vocab ü.json", content, false);

    Path path = new HfHub(settings()).download(REPO, "tokenizer dir/vocab ü.json", null);

    assertThat(Files.readAllBytes(path)).isEqualTo(content);
    assertThat(server.requests().get(0).path())
        .isEqualTo("/" + REPO + "/resolve/main/tokenizer dir/vocab ü.json");
    assertThat(Files.readSymbolicLink(path).toString())
        .isEqualTo("../../../blobs/" + FakeHub.gitSha1(content));
  }

  @Test
  void sameBlobAtAnotherRevisionIsLinkedWithoutDownloadingAgain() throws Exception {
    HfHub hub = new HfHub(settings());
    hub.download(REPO, "model.safetensors", null);
    server.clearRequests();

    Path viaCommit = hub.download(REPO, "model.safetensors", FakeHub.COMMIT);
    assertThat(viaCommit).exists();
    assertThat(server.requestCount()).isZero();
  }

  @Test
  void missingFileIs404WithRepoFileRevisionAndUrl() throws Exception {
    HfHub hub = new HfHub(settings());

    assertThatThrownBy(() -> hub.download(REPO, "nope.bin", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_FOUND))
        .hasMessage("file 'nope.bin' not found in repo '" + REPO + "' at revision 'main' ("
            + server.endpoint() + "/" + REPO + "/resolve/main/nope.bin)");
    Path marker = tmp.resolve("hub/models--lens4j-test--tiny-model/.no_exist")
        .resolve(FakeHub.COMMIT).resolve("nope.bin");
    assertThat(marker).isRegularFile();
  }

  @Test
  void missingFileRecordedAs404IsReportedNotFoundOffline() throws Exception {
    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "nope.bin", null))
        .isInstanceOf(HubException.class);
    server.clearRequests();

    assertThatThrownBy(() -> new HfHub(settings().withOffline(true)).download(REPO, "nope.bin", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_FOUND))
        .hasMessageContaining("file 'nope.bin' not found in repo '" + REPO + "' at revision 'main'")
        .hasMessageContaining(".no_exist");
    assertThat(server.requestCount()).isZero();
  }

  @Test
  void unknownRevisionIsNamed() throws Exception {
    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "config.json", "v9"))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_FOUND))
        .hasMessageStartingWith("revision 'v9' not found in repo '" + REPO + "'");
  }

  @Test
  void gatedRepoWithoutTokenSaysHfTokenIsNeeded() throws Exception {
    server.requireToken("hf_secret");

    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "config.json", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.UNAUTHORIZED))
        .hasMessageContaining("repo '" + REPO + "'")
        .hasMessageContaining("HTTP 401")
        .hasMessageContaining("gated or private")
        .hasMessageContaining("set HF_TOKEN");
    assertThat(tmp.resolve("hub/models--lens4j-test--tiny-model/blobs")).doesNotExist();
  }

  @Test
  void wrongTokenIsReportedAsRejectedWithoutShowingIt() throws Exception {
    server.requireToken("hf_secret");

    assertThatThrownBy(
        () -> new HfHub(settings().withToken("hf_wrong")).download(REPO, "config.json", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.UNAUTHORIZED))
        .hasMessageContaining("token (HF_TOKEN) was rejected")
        .hasMessageNotContaining("hf_wrong");
  }

  @Test
  void tokenOpensGatedRepoAndIsNeverSentToTheCdn() throws Exception {
    server.requireToken("hf_secret");
    HfHub hub = new HfHub(settings().withToken("hf_secret"));

    assertThat(Files.readAllBytes(hub.download(REPO, "config.json", null))).isEqualTo(CONFIG);
    assertThat(Files.readAllBytes(hub.download(REPO, "model.safetensors", null))).isEqualTo(WEIGHTS);

    assertThat(server.requests()).filteredOn(r -> r.server().equals("hub"))
        .isNotEmpty().allSatisfy(r -> assertThat(r.authorization()).isEqualTo("Bearer hf_secret"));
    assertThat(server.requests()).filteredOn(r -> r.server().equals("cdn"))
        .hasSize(1).allSatisfy(r -> assertThat(r.authorization()).isNull());
  }

  @Test
  void showsProgressBarOnStandardError() throws Exception {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    Path path;
    try {
      path = new HfHub(settings().withShowProgress(true)).download(REPO, "model.safetensors", null);
    } finally {
      System.setErr(original);
    }
    assertThat(Files.readAllBytes(path)).isEqualTo(WEIGHTS);
    assertThat(captured.toString(StandardCharsets.UTF_8)).contains("model.safetensors").contains("100%");
  }

  @Test
  void invalidArgumentsAreNamed() {
    HfHub hub = new HfHub(settings());
    assertThatThrownBy(() -> hub.download("a/b/c", "config.json", null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid repo id 'a/b/c'");
    assertThatThrownBy(() -> hub.download(REPO, "../../etc/passwd", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid file name '../../etc/passwd'");
    assertThatThrownBy(() -> hub.download(REPO, "config.json", "../main"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid revision '../main'");
    assertThat(server.requestCount()).isZero();
  }

  @Test
  void resolveTakesAnExistingDirectoryWithoutNetwork() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("local-model"));
    Files.write(dir.resolve("config.json"), CONFIG);
    HfHub hub = new HfHub(settings());

    assertThat(hub.resolve(dir.toString(), "config.json", null)).isEqualTo(dir.resolve("config.json"));
    assertThatThrownBy(() -> hub.resolve(dir.toString(), "model.safetensors", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_FOUND))
        .hasMessageContaining("'model.safetensors' not found in local directory " + dir);
    assertThat(server.requestCount()).isZero();

    assertThat(Files.readAllBytes(hub.resolve(REPO, "config.json", null))).isEqualTo(CONFIG);
    assertThat(server.requestCount()).isEqualTo(2);
  }
}
