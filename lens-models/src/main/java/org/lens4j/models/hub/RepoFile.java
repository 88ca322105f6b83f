package org.lens4j.models.hub;

/**
 * One file of one repo at one revision, checked so that none of the three can escape its place in
 * a URL or in the cache folder.
 *
 * @param repoId the repo, {@code name} or {@code org/name}
 * @param filename the path inside the repo, with '/' separators
 * @param revision a branch, tag or commit hash
 */
record RepoFile(String repoId, String filename, String revision) {

  /**
   * @throws IllegalArgumentException naming the repo id, file name or revision that is invalid
   */
  RepoFile {
    HubUrls.checkRepoId(repoId);
    HubUrls.checkRelativePath(filename, "file name");
    HubUrls.checkRelativePath(revision, "revision");
  }

  /** @return "file 'f' of repo 'r' at revision 'v'", for messages */
  @Override
  public String toString() {
    return "file '" + filename + "' of repo '" + repoId + "' at revision '" + revision + "'";
  }
}
