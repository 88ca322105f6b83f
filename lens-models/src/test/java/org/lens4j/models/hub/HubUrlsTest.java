package org.lens4j.models.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

/** The hub's URL layout and the checks on names that go into URLs and cache paths. */
class HubUrlsTest {

  @Test
  void resolveUrlQuotesLikePython() {
    // Python: hf_hub_url("org/m", "dir/a b+é.json", revision="refs/pr/1")
    // == "https://huggingface.co/org/m/resolve/refs%2Fpr%2F1/dir/a%20b%2B%C3%A9.json"
    assertThat(HubUrls.resolveUrl("https://huggingface.co", "org/m", "dir/a b+é.json", "refs/pr/1"))
        .isEqualTo(URI.create(
            "https://huggingface.co/org/m/resolve/refs%2Fpr%2F1/dir/a%20b%2B%C3%A9.json"));
    assertThat(HubUrls.modelInfoUrl("https://huggingface.co", "gpt2", "main"))
        .isEqualTo(URI.create("https://huggingface.co/api/models/gpt2/revision/main"));
  }

  @Test
  void acceptsRealRepoIds() {
    for (String id : new String[] {"gpt2", "NeelNanda/Attn_Only_2L512W_C4_Code",
        "EleutherAI/pythia-70m-deduped", "openai-community/gpt2", "a.b_c-d/e.f"}) {
      assertThat(HubUrls.checkRepoId(id)).isEqualTo(id);
    }
  }

  @Test
  void rejectsRepoIdsThatCouldEscape() {
    for (String id : new String[] {"", "a/b/c", "../x", "org/..", "a--b", "-a", "a.", "/a",
        "a/", "a b"}) {
      assertThatThrownBy(() -> HubUrls.checkRepoId(id)).as(id)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void rejectsPathsThatCouldEscape() {
    for (String p : new String[] {"", "/etc/passwd", "a/../b", "..", "a//b", "a\\b", "./a", "a/"}) {
      assertThatThrownBy(() -> HubUrls.checkRelativePath(p, "file name")).as(p)
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(HubUrls.checkRelativePath("onnx/model.onnx", "file name")).isEqualTo("onnx/model.onnx");
  }

  @Test
  void tokenGoesOnlyToTheSameOrigin() {
    URI hub = URI.create("https://huggingface.co");
    assertThat(HubHttp.sameOrigin(URI.create("https://huggingface.co:443/x"), hub)).isTrue();
    assertThat(HubHttp.sameOrigin(URI.create("https://HuggingFace.co/x"), hub)).isTrue();
    assertThat(HubHttp.sameOrigin(URI.create("http://huggingface.co/x"), hub)).isFalse();
    assertThat(HubHttp.sameOrigin(URI.create("https://cdn-lfs.huggingface.co/x"), hub)).isFalse();
    assertThat(HubHttp.sameOrigin(URI.create("https://huggingface.co:8443/x"), hub)).isFalse();
  }
}
