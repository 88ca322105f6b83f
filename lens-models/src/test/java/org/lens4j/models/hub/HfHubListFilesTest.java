package org.lens4j.models.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Listing a repo's files through the model-info API, and from the cache offline. */
class HfHubListFilesTest {

  static final String REPO = "NeelNanda/toy";

  @TempDir Path tmp;
  FakeHub server;

  @BeforeEach
  void startServer() throws Exception {
    byte[] b = "x".getBytes(StandardCharsets.UTF_8);
    server = new FakeHub()
        .add(REPO, "config.json", b, false)
        .add(REPO, "checkpoints/model_10.pth", b, true)
        .add(REPO, "checkpoints/model_2.pth", b, true)
        .add(REPO, "model_final.pth", b, true);
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  HubSettings settings() {
    return new HubSettings(server.endpoint(), tmp.resolve("hub"), false, null, false,
        Duration.ofSeconds(5), Duration.ofSeconds(5));
  }

  @Test
  void listsFilesInTheApisOrder() throws Exception {
    assertThat(new HfHub(settings()).listFiles(REPO, null)).containsExactly(
        "config.json", "checkpoints/model_10.pth", "checkpoints/model_2.pth", "model_final.pth");
    assertThat(server.requests()).extracting(FakeHub.Request::path)
        .containsExactly("/api/models/NeelNanda/toy/revision/main");
  }

  @Test
  void offlineListsTheCachedSnapshotSorted() throws Exception {
    HfHub online = new HfHub(settings());
    online.download(REPO, "model_final.pth", null);
    online.download(REPO, "checkpoints/model_2.pth", null);
    online.download(REPO, "config.json", null);
    server.clearRequests();

    HfHub offline = new HfHub(settings().withOffline(true));
    assertThat(offline.listFiles(REPO, null))
        .containsExactly("checkpoints/model_2.pth", "config.json", "model_final.pth");
    assertThat(offline.listFiles(REPO, FakeHub.COMMIT)).hasSize(3);
    assertThat(server.requestCount()).isZero();
  }

  @Test
  void offlineWithoutSnapshotNamesRepoRevisionAndPath() {
    HfHub offline = new HfHub(settings().withOffline(true));

    assertThatThrownBy(() -> offline.listFiles(REPO, "main"))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_CACHED))
        .hasMessageContaining("no snapshot of repo '" + REPO + "' at revision 'main'")
        .hasMessageContaining("HF_HUB_OFFLINE")
        .hasMessageContaining(tmp.resolve("hub/models--NeelNanda--toy/refs/main") + " (no such ref");
  }

  @Test
  void unknownRepoAndRevisionAreNotFound() {
    HfHub hub = new HfHub(settings());
    assertThatThrownBy(() -> hub.listFiles("NeelNanda/absent", null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_FOUND))
        .hasMessageStartingWith("repo 'NeelNanda/absent' not found (" + server.endpoint()
            + "/api/models/NeelNanda/absent/revision/main)");
    assertThatThrownBy(() -> hub.listFiles(REPO, "v2"))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_FOUND))
        .hasMessageStartingWith("revision 'v2' not found in repo '" + REPO + "'");
  }

  @Test
  void gatedRepoNeedsTheToken() throws Exception {
    server.requireToken("hf_secret");
    assertThatThrownBy(() -> new HfHub(settings()).listFiles(REPO, null))
        .isInstanceOfSatisfying(HubException.class,
            e -> assertThat(e.reason()).isEqualTo(HubException.Reason.UNAUTHORIZED))
        .hasMessageContaining("HF_TOKEN");
    assertThat(new HfHub(settings().withToken("hf_secret")).listFiles(REPO, null)).hasSize(4);
  }

  @Test
  void answerWithoutSiblingsIsABadResponse() {
    HfHub hub = new HfHub(settings());
    for (String body : new String[] {"{\"sha\": \"x\"}", "not json {", "[1, 2]",
        "{\"siblings\": [{\"name\": \"a\"}]}"}) {
      server.modelInfoBody(body);
      assertThatThrownBy(() -> hub.listFiles(REPO, null))
          .as(body)
          .isInstanceOfSatisfying(HubException.class,
              e -> assertThat(e.reason()).isEqualTo(HubException.Reason.BAD_RESPONSE))
          .hasMessageContaining("/api/models/" + REPO + "/revision/main")
          .hasMessageContaining("\"siblings\"");
    }
  }
}
