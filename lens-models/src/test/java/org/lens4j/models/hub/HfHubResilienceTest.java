package org.lens4j.models.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.models.hub.HfHubDownloadTest.CONFIG;
import static org.lens4j.models.hub.HfHubDownloadTest.REPO;
import static org.lens4j.models.hub.HfHubDownloadTest.WEIGHTS;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failures the client must survive without leaving a half-written file in the cache: corrupt
 * bytes, dropped and stalled connections, servers that ignore ranges, unreachable or broken hubs.
 */
class HfHubResilienceTest {

  static final String SHA = FakeHub.sha256(WEIGHTS);

  @TempDir Path tmp;
  FakeHub server;
  Path storage;

  @BeforeEach
  void startServer() throws Exception {
    server = new FakeHub()
        .add(REPO, "config.json", CONFIG, false)
        .add(REPO, "model.safetensors", WEIGHTS, true);
    storage = tmp.resolve("hub/models--lens4j-test--tiny-model");
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  HubSettings settings() {
    return new HubSettings(server.endpoint(), tmp.resolve("hub"), false, null, false,
        Duration.ofSeconds(5), Duration.ofSeconds(5));
  }

  Path snapshotEntry(String filename) {
    return storage.resolve("snapshots").resolve(FakeHub.COMMIT).resolve(filename);
  }

  Path incomplete() {
    return storage.resolve("blobs").resolve(SHA + ".incomplete");
  }

  /** @return every regular file and link under blobs/ and snapshots/ */
  List<Path> cacheEntries() throws Exception {
    List<Path> entries = new ArrayList<>();
    for (String dir : List.of("blobs", "snapshots")) {
      if (Files.isDirectory(storage.resolve(dir))) {
        try (Stream<Path> walk = Files.walk(storage.resolve(dir))) {
          walk.filter(p -> !Files.isDirectory(p)).forEach(entries::add);
        }
      }
    }
    return entries;
  }

  @Test
  void corruptLfsFileIsRejectedNamingBothHashesAndLeavesNothing() throws Exception {
    server.corrupt(true);
    byte[] served = WEIGHTS.clone();
    served[0] ^= 0x55;

    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "model.safetensors", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.CORRUPT))
        .hasMessageContaining("sha256 mismatch for file 'model.safetensors' of repo '" + REPO
            + "' at revision 'main'")
        .hasMessageContaining("expected " + SHA + ", got " + FakeHub.sha256(served));
    assertThat(cacheEntries()).isEmpty();
  }

  @Test
  void droppedConnectionKeepsIncompleteAndNextCallResumesWithRange() throws Exception {
    server.dropNextBodyAfter(100_000);

    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "model.safetensors", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NETWORK))
        .hasMessageContaining("of " + WEIGHTS.length + " bytes")
        .hasMessageContaining("bytes received: 100000")
        .hasMessageContaining("the partial download is kept in " + incomplete())
        .hasMessageContaining("next call resumes it");
    // The JDK client may drop the last bytes it had buffered when the connection breaks.
    byte[] partial = Files.readAllBytes(incomplete());
    assertThat(partial.length).isBetween(1, 100_000);
    assertThat(partial).isEqualTo(Arrays.copyOf(WEIGHTS, partial.length));
    assertThat(cacheEntries()).containsExactly(incomplete());
    server.clearRequests();

    Path path = new HfHub(settings()).download(REPO, "model.safetensors", null);

    assertThat(Files.readAllBytes(path)).isEqualTo(WEIGHTS);
    assertThat(server.requests()).filteredOn(r -> r.server().equals("cdn"))
        .extracting(FakeHub.Request::range).containsExactly("bytes=" + partial.length + "-");
    assertThat(incomplete()).doesNotExist();
  }

  @Test
  void droppedRegularFileResumesToo() throws Exception {
    server.dropNextBodyAfter(5);
    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "config.json", null))
        .isInstanceOf(HubException.class);
    long partial = Files.size(storage.resolve("blobs").resolve(FakeHub.gitSha1(CONFIG) + ".incomplete"));
    server.clearRequests();

    Path path = new HfHub(settings()).download(REPO, "config.json", null);

    assertThat(Files.readAllBytes(path)).isEqualTo(CONFIG);
    assertThat(server.requests()).filteredOn(r -> r.method().equals("GET"))
        .extracting(FakeHub.Request::range)
        .containsExactly(partial > 0 ? "bytes=" + partial + "-" : null);
  }

  @Test
  void serverIgnoringRangeGivesACleanRestart() throws Exception {
    server.dropNextBodyAfter(100_000);
    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "model.safetensors", null))
        .isInstanceOf(HubException.class);
    server.ignoreRange(true);

    Path path = new HfHub(settings()).download(REPO, "model.safetensors", null);

    assertThat(Files.readAllBytes(path)).isEqualTo(WEIGHTS);
    assertThat(incomplete()).doesNotExist();
  }

  @Test
  void incompleteFileLongerThanTheBlobIsDiscarded() throws Exception {
    Files.createDirectories(incomplete().getParent());
    Files.write(incomplete(), new byte[WEIGHTS.length + 10]);

    Path path = new HfHub(settings()).download(REPO, "model.safetensors", null);

    assertThat(Files.readAllBytes(path)).isEqualTo(WEIGHTS);
    assertThat(server.requests()).filteredOn(r -> r.server().equals("cdn"))
        .extracting(FakeHub.Request::range).containsExactly((String) null);
  }

  @Test
  void stalledDownloadTimesOutAndResumes() throws Exception {
    server.stallNextBodyAfter(50_000);
    HubSettings quick = settings().withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(1));

    long start = System.nanoTime();
    assertThatThrownBy(() -> new HfHub(quick).download(REPO, "model.safetensors", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NETWORK))
        .hasMessageContaining("no data for 1 s");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    assertThat(Files.size(incomplete())).isEqualTo(50_000);

    assertThat(Files.readAllBytes(new HfHub(quick).download(REPO, "model.safetensors", null)))
        .isEqualTo(WEIGHTS);
  }

  @Test
  void concurrentDownloadsOfOneFileFetchItOnce() throws Exception {
    HfHub hub = new HfHub(settings());
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Path>> results = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        results.add(pool.submit(() -> hub.download(REPO, "model.safetensors", null)));
      }
      for (Future<Path> result : results) {
        assertThat(Files.readAllBytes(result.get())).isEqualTo(WEIGHTS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(server.requests()).filteredOn(r -> r.server().equals("cdn")).hasSize(1);
  }

  @Test
  void unreachableHubNamesRepoFileRevisionAndCachePath() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    HfHub hub = new HfHub(settings().withEndpoint("http://127.0.0.1:" + closedPort));

    assertThatThrownBy(() -> hub.download(REPO, "config.json", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_CACHED))
        .hasMessageContaining("file 'config.json' of repo '" + REPO + "' at revision 'main'")
        .hasMessageContaining("the hub could not be reached (http://127.0.0.1:" + closedPort)
        .hasMessageContaining(storage.resolve("refs/main") + " (no such ref");
  }

  @Test
  void unreachableHubStillServesCachedFiles() throws Exception {
    Path cached = new HfHub(settings()).download(REPO, "config.json", null);
    server.close();

    assertThat(new HfHub(settings()).download(REPO, "config.json", null)).isEqualTo(cached);
    assertThat(new HfHub(settings()).listFiles(REPO, null)).containsExactly("config.json");
  }

  @Test
  void serverErrorNamesStatusUrlAndFile() throws Exception {
    server.forceStatus(500);

    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "config.json", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.HTTP_ERROR))
        .hasMessage("HTTP 500 from " + server.endpoint() + "/" + REPO
            + "/resolve/main/config.json for file 'config.json' of repo '" + REPO
            + "' at revision 'main' (hub says: Something went wrong.)");
  }

  @Test
  void redirectToSomethingElseThanHttpIsRefused() throws Exception {
    server.redirectLfsTo("file:///tmp");
    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "model.safetensors", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.BAD_RESPONSE))
        .hasMessageContaining("file:///tmp/lfs/" + SHA)
        .hasMessageContaining("not an http(s) URL");

    server.redirectLfsTo("http://bad host");
    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "model.safetensors", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.BAD_RESPONSE))
        .hasMessageContaining("unusable Location header: http://bad host/lfs/");
    assertThat(cacheEntries()).isEmpty();
  }

  @Test
  void serverThatIsNotAHubIsNamed() throws Exception {
    server.omitRepoCommit(true);

    assertThatThrownBy(() -> new HfHub(settings()).download(REPO, "config.json", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.BAD_RESPONSE))
        .hasMessageContaining("without a valid X-Repo-Commit header")
        .hasMessageContaining("(HF_ENDPOINT)");
    assertThat(cacheEntries()).isEmpty();
  }
}
