// A progress bar on the terminal while the local model downloads (the log gets every tenth as well).
import { Presets, SingleBar } from "cli-progress";
import type { DownloadProgress } from "./model-download.js";

export type { DownloadProgress };

const MIB = 1024 * 1024;

/** Draws on `stream` (stderr, when it is a TTY); stops by itself once the download is whole. */
export function terminalDownloadBar(stream: NodeJS.WriteStream): (progress: DownloadProgress) => void {
  let bar: SingleBar | undefined;
  let done = false;
  return ({ downloadedBytes, totalBytes }) => {
    if (done || !totalBytes) return;
    if (!bar) {
      bar = new SingleBar(
        { stream, format: "downloading the local model [{bar}] {percentage}% {value}/{total} MiB, ETA {eta_formatted}", hideCursor: true },
        Presets.shades_classic,
      );
      bar.start(Math.ceil(totalBytes / MIB), 0);
    }
    bar.update(Math.floor(downloadedBytes / MIB));
    if (downloadedBytes >= totalBytes) {
      bar.stop();
      done = true;
    }
  };
}
