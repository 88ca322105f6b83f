package org.lens4j.models.hub;

import java.net.URI;

/**
 * What the hub's HEAD answer says about one file at one revision.
 *
 * @param commit the commit the revision resolved to ({@code X-Repo-Commit})
 * @param etag the blob's name in the cache: {@code X-Linked-Etag} or {@code ETag}, unquoted; the
 *     sha256 of the content for LFS files, the git blob sha1 otherwise
 * @param size the content's size in bytes ({@code X-Linked-Size} or {@code Content-Length})
 * @param location where to GET the content: the CDN a redirect points at, or the resolve URL
 */
record FileMetadata(String commit, String etag, long size, URI location) {

  /** @return whether the etag is a sha256 (an LFS file), which the download is verified against */
  boolean isSha256() {
    return etag.matches("[0-9a-f]{64}");
  }
}
