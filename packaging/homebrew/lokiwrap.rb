# Homebrew formula for lokiwrap, built from source with cargo. Homebrew installs formulae from
# a tap: copy this file into one (see packaging/README.md), then
#   brew install --build-from-source OWNER/TAP/lokiwrap && brew test lokiwrap
# For each release, url and sha256 name the release's source tarball (shasum -a 256 FILE).
class Lokiwrap < Formula
  desc "Run a command-line tool unchanged, with private crash and friction reporting"
  homepage "https://github.com/OWNER/lokiwrap"
  url "https://github.com/OWNER/lokiwrap/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  head "https://github.com/OWNER/lokiwrap.git", branch: "main"

  depends_on "rust" => :build

  def install
    # The client crate's two binaries, side by side in bin: lokiwrap starts lokiwrap-flush from
    # its own directory. The collector (crates/lokiwrap-collector) is a server's, not built here.
    system "cargo", "install", *std_cargo_args(path: "crates/lokiwrap")
    bash_completion.install "packaging/completions/lokiwrap.bash" => "lokiwrap"
    zsh_completion.install "packaging/completions/_lokiwrap"
    fish_completion.install "packaging/completions/lokiwrap.fish"
    man1.install "packaging/man/lokiwrap.1"
    doc.install "README.md", "PRIVACY.md"
  end

  test do
    ENV["HOME"] = testpath.to_s
    %w[DO_NOT_TRACK LOKIWRAP_TELEMETRY LOKIWRAP_ENDPOINT LOKIWRAP_DEPTH XDG_CONFIG_HOME XDG_STATE_HOME].each do |name|
      ENV.delete(name)
    end
    # A --HEAD build's version is not the crate's: check only the name there.
    assert_match "lokiwrap #{version unless version.head?}", shell_output("#{bin}/lokiwrap --version")

    # A wrapped command keeps its exit status.
    shell_output("#{bin}/lokiwrap -- sh -c 'exit 3'", 3)

    # A tool that dies of SIGSEGV: lokiwrap dies the same way and keeps a report.
    _, status = Process.wait2(spawn("#{bin}/lokiwrap", "--", "sh", "-c", "kill -SEGV $$", err: File::NULL))
    assert_equal Signal.list["SEGV"], status.termsig
    assert_match "SIGSEGV", shell_output("#{bin}/lokiwrap crash list")

    # The one switch that stops sending.
    shell_output("#{bin}/lokiwrap telemetry off 2>&1")
    assert_match(/^telemetry:\s+off$/, shell_output("#{bin}/lokiwrap telemetry status"))
  end
end
