import Mount
import Foundation

exit(MountCommand.run(Array(CommandLine.arguments.dropFirst())))
