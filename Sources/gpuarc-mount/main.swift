import Archive
import Foundation
import Mount

// Arguments with their bytes kept: an archive or mountpoint that is not UTF-8 is used as it is.
exit(MountCommand.run(RawArguments.forParser()))
