package org.lens4j.models.hub;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * The hub's URL layout, and the checks that keep repo ids, file names and revisions from escaping
 * their place in a URL or in the cache folder.
 */
final class HubUrls {

  /** The revision used when none is given, as in huggingface_hub. */
  static final String DEFAULT_REVISION = "main";

  /** One part of a repo id: word characters, '.' and '-', starting and ending with a word character. */
  private static final Pattern REPO_ID_PART = Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?");

  private static final Pattern COMMIT_HASH = Pattern.compile("[0-9a-f]{40}");

  private HubUrls() {}

  /**
   * @return {@code {endpoint}/{repoId}/resolve/{revision}/{filename}}, the URL that serves one file
   */
  static URI resolveUrl(String endpoint, String repoId, String filename, String revision) {
    return URI.create(
        endpoint + "/" + repoId + "/resolve/" + encode(revision, false) + "/" + encode(filename, true));
  }

  /**
   * @return {@code {endpoint}/api/models/{repoId}/revision/{revision}}, the model-info API whose
   *     JSON lists the files ("siblings") and the commit ("sha")
   */
  static URI modelInfoUrl(String endpoint, String repoId, String revision) {
    return URI.create(endpoint + "/api/models/" + repoId + "/revision/" + encode(revision, false));
  }

  /** @return whether a revision is a full commit hash, which names a snapshot folder directly */
  static boolean isCommitHash(String revision) {
    return COMMIT_HASH.matcher(revision).matches();
  }

  /**
   * Checks a repo id such as {@code gpt2} or {@code NeelNanda/Attn_Only_2L512W_C4_Code}.
   *
   * @throws IllegalArgumentException naming the repo id if it is not a valid hub repo id
   */
  static String checkRepoId(String repoId) {
    if (repoId == null || repoId.isEmpty()) {
      throw new IllegalArgumentException("repo id must not be empty");
    }
    String[] parts = repoId.split("/", -1);
    boolean ok = parts.length <= 2 && repoId.length() <= 96 && !repoId.contains("--")
        && !repoId.contains("..");
    for (String part : parts) {
      ok &= REPO_ID_PART.matcher(part).matches();
    }
    if (!ok) {
      throw new IllegalArgumentException("invalid repo id '" + repoId
          + "': expected 'name' or 'org/name' made of letters, digits, '_', '.' and '-'"
          + " (no '--' or '..', at most 96 characters)");
    }
    return repoId;
  }

  /**
   * Checks a path inside a repo or cache folder ({@code what} is "file name" or "revision").
   *
   * @throws IllegalArgumentException naming the value if it is empty, absolute, or has empty,
   *     {@code .} or {@code ..} parts or backslashes
   */
  static String checkRelativePath(String value, String what) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    boolean ok = value.indexOf('\\') < 0 && value.indexOf('\0') < 0;
    for (String part : value.split("/", -1)) {
      ok &= !part.isEmpty() && !part.equals(".") && !part.equals("..");
    }
    if (!ok) {
      throw new IllegalArgumentException("invalid " + what + " '" + value
          + "': must be a relative path with '/' separators and no empty, '.' or '..' parts");
    }
    return value;
  }

  /**
   * Percent-encodes like Python's {@code urllib.parse.quote}: letters, digits and {@code _.-~} stay,
   * and {@code /} stays when {@code keepSlash}; everything else is UTF-8 bytes as {@code %XX}.
   */
  static String encode(String s, boolean keepSlash) {
    StringBuilder out = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      boolean unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '_' || c == '.' || c == '-' || c == '~' || (keepSlash && c == '/');
      if (unreserved) {
        out.append(c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit((c >> 4) & 0xf, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return out.toString();
  }
}
