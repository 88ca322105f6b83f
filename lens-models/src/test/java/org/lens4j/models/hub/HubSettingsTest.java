package org.lens4j.models.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The environment variables huggingface_hub reads, read the same way. */
class HubSettingsTest {

  @TempDir Path tmp;

  Map<String, String> env(String... pairs) {
    Map<String, String> env = new HashMap<>();
    env.put("HOME", tmp.resolve("home").toString());
    for (int i = 0; i < pairs.length; i += 2) {
      env.put(pairs[i], pairs[i + 1]);
    }
    return env;
  }

  @Test
  void defaultsFollowHuggingfaceHub() {
    HubSettings s = HubSettings.fromEnvironment(env());
    assertThat(s.endpoint()).isEqualTo("https://huggingface.co");
    assertThat(s.cacheDir()).isEqualTo(tmp.resolve("home/.cache/huggingface/hub"));
    assertThat(s.offline()).isFalse();
    assertThat(s.token()).isNull();
    assertThat(s.requestTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.downloadTimeout()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void cacheFolderFromXdgHfHomeAndHfHubCache() {
    assertThat(HubSettings.fromEnvironment(env("XDG_CACHE_HOME", "/x/cache")).cacheDir())
        .isEqualTo(Path.of("/x/cache/huggingface/hub"));
    assertThat(HubSettings.fromEnvironment(env("HF_HOME", "/data/hf")).cacheDir())
        .isEqualTo(Path.of("/data/hf/hub"));
    assertThat(HubSettings.fromEnvironment(env("HF_HOME", "~/hf")).cacheDir())
        .isEqualTo(tmp.resolve("home/hf/hub"));
    assertThat(HubSettings.fromEnvironment(env("HF_HOME", "/data/hf", "HF_HUB_CACHE", "/fast/hub"))
        .cacheDir()).isEqualTo(Path.of("/fast/hub"));
    assertThat(HubSettings.fromEnvironment(env("HUGGINGFACE_HUB_CACHE", "/old/hub")).cacheDir())
        .isEqualTo(Path.of("/old/hub"));
  }

  @Test
  void offlineValuesAsInHuggingfaceHub() {
    for (String on : new String[] {"1", "true", "TRUE", "yes", "On"}) {
      assertThat(HubSettings.fromEnvironment(env("HF_HUB_OFFLINE", on)).offline()).as(on).isTrue();
    }
    for (String off : new String[] {"0", "false", "no", ""}) {
      assertThat(HubSettings.fromEnvironment(env("HF_HUB_OFFLINE", off)).offline()).as(off).isFalse();
    }
    assertThat(HubSettings.fromEnvironment(env("TRANSFORMERS_OFFLINE", "1")).offline()).isTrue();
  }

  @Test
  void endpointWithoutTrailingSlash() {
    assertThat(HubSettings.fromEnvironment(env("HF_ENDPOINT", "https://hf-mirror.example/")).endpoint())
        .isEqualTo("https://hf-mirror.example");
  }

  @Test
  void tokenFromVariableElseFromTokenFile() throws Exception {
    assertThat(HubSettings.fromEnvironment(env("HF_TOKEN", "hf_abc")).token()).isEqualTo("hf_abc");

    Path hfHome = Files.createDirectories(tmp.resolve("hf"));
    Files.writeString(hfHome.resolve("token"), "hf_from_file\n");
    assertThat(HubSettings.fromEnvironment(env("HF_HOME", hfHome.toString())).token())
        .isEqualTo("hf_from_file");
    assertThat(HubSettings.fromEnvironment(env("HF_HOME", hfHome.toString(), "HF_TOKEN", "hf_var"))
        .token()).isEqualTo("hf_var");

    Path other = tmp.resolve("other-token");
    Files.writeString(other, "hf_other");
    assertThat(HubSettings.fromEnvironment(env("HF_TOKEN_PATH", other.toString())).token())
        .isEqualTo("hf_other");
  }

  @Test
  void timeoutsInSeconds() {
    HubSettings s = HubSettings.fromEnvironment(
        env("HF_HUB_ETAG_TIMEOUT", "3", "HF_HUB_DOWNLOAD_TIMEOUT", "60"));
    assertThat(s.requestTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(s.downloadTimeout()).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void progressBarsCanBeSwitchedOff() {
    assertThat(HubSettings.fromEnvironment(env("HF_HUB_DISABLE_PROGRESS_BARS", "1")).showProgress())
        .isFalse();
  }

  @Test
  void badValuesAreNamed() {
    assertThatThrownBy(() -> HubSettings.fromEnvironment(env("HF_ENDPOINT", "huggingface.co")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HF_ENDPOINT").hasMessageContaining("'huggingface.co'");
    assertThatThrownBy(() -> HubSettings.fromEnvironment(env("HF_HUB_DOWNLOAD_TIMEOUT", "ten")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HF_HUB_DOWNLOAD_TIMEOUT='ten'");
    assertThatThrownBy(() -> HubSettings.fromEnvironment(env("HF_HUB_ETAG_TIMEOUT", "0")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HF_HUB_ETAG_TIMEOUT='0'");
  }

  @Test
  void toStringNeverShowsTheToken() {
    HubSettings s = HubSettings.fromEnvironment(env("HF_TOKEN", "hf_secret_value"));
    assertThat(s.toString()).doesNotContain("hf_secret_value").contains("token=***");
  }

  @Test
  void environmentDrivesTheClient() throws Exception {
    byte[] content = "{}".getBytes(StandardCharsets.UTF_8);
    try (FakeHub server = new FakeHub().add("org/m", "config.json", content, false)) {
      Path hfHome = tmp.resolve("hf-home");
      HfHub hub = new HfHub(HubSettings.fromEnvironment(
          env("HF_HOME", hfHome.toString(), "HF_ENDPOINT", server.endpoint())));

      Path path = hub.download("org/m", "config.json", null);

      assertThat(path).startsWithRaw(hfHome.resolve("hub/models--org--m/snapshots"));
      assertThat(Files.readAllBytes(path)).isEqualTo(content);
      assertThat(server.requestCount()).isEqualTo(2);

      HfHub offline = new HfHub(HubSettings.fromEnvironment(env("HF_HOME", hfHome.toString(),
          "HF_ENDPOINT", server.endpoint(), "HF_HUB_OFFLINE", "1")));
      assertThat(offline.download("org/m", "config.json", null)).isEqualTo(path);
      assertThatThrownBy(() -> offline.download("org/m", "model.safetensors", null))
          .isInstanceOfSatisfying(HubException.class,
              e -> assertThat(e.reason()).isEqualTo(HubException.Reason.NOT_CACHED))
          .hasMessage("file 'model.safetensors' of repo 'org/m' at revision 'main' is not in the"
              + " cache and the hub is offline (HF_HUB_OFFLINE is set); looked for "
              + hfHome.resolve("hub/models--org--m/snapshots").resolve(FakeHub.COMMIT)
                  .resolve("model.safetensors")
              + " (refs/main -> " + FakeHub.COMMIT + ")");
      assertThat(server.requestCount()).isEqualTo(2);
    }
  }
}
