function __gigi_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __gigi_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __gigi_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __gigi_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __gigi_parse_tokens -S
    set -l unparsed_tokens (__gigi_tokens -pc)
    switch $unparsed_tokens[1]
    case 'gigi'
        __gigi_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'share'
            __gigi_parse_subcommand -r 1 'words=' 'ticket' 'keep' 'listen=+' 'json' 'v/verbose' 'home=' 'lan-discovery=' 'lan-interfaces=' 'nickname=' 'version' 'h/help'
        case 'fetch'
            __gigi_parse_subcommand 1 'peer=+' 'o/output=' 'overwrite' 'no-reuse' 'fsync' 'json' 'v/verbose' 'home=' 'lan-discovery=' 'lan-interfaces=' 'nickname=' 'version' 'h/help'
        case 'shares'
            __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'version' 'h/help'
        case 'unshare'
            __gigi_parse_subcommand 1 'json' 'v/verbose' 'home=' 'version' 'h/help'
        case 'daemon'
            __gigi_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'run'
                __gigi_parse_subcommand 0 'listen=+' 'json' 'v/verbose' 'home=' 'lan-discovery=' 'lan-interfaces=' 'nickname=' 'version' 'h/help'
            case 'status'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'version' 'h/help'
            case 'stop'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'version' 'h/help'
            end
        case 'events'
            __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'version' 'h/help'
        case 'send'
            __gigi_parse_subcommand -r 2 'timeout=' 'reply-to=' 'json' 'v/verbose' 'home=' 'lan-discovery=' 'lan-interfaces=' 'nickname=' 'version' 'h/help'
        case 'inbox'
            __gigi_parse_subcommand 0 'unread' 'limit=' 'json' 'v/verbose' 'home=' 'lan-discovery=' 'lan-interfaces=' 'nickname=' 'version' 'h/help'
        case 'messages'
            __gigi_parse_subcommand 1 'limit=' 'follow' 'json' 'v/verbose' 'home=' 'lan-discovery=' 'lan-interfaces=' 'nickname=' 'version' 'h/help'
        case 'chat'
            __gigi_parse_subcommand 1 'json' 'v/verbose' 'home=' 'lan-discovery=' 'lan-interfaces=' 'nickname=' 'version' 'h/help'
        case 'contacts'
            __gigi_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'add'
                __gigi_parse_subcommand 2 'addr=+' 'json' 'v/verbose' 'home=' 'version' 'h/help'
            case 'ls'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'version' 'h/help'
            case 'rm'
                __gigi_parse_subcommand 1 'json' 'v/verbose' 'home=' 'version' 'h/help'
            case 'rename'
                __gigi_parse_subcommand 2 'json' 'v/verbose' 'home=' 'version' 'h/help'
            end
        case 'account'
            __gigi_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'create'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'password-file=' 'words=' 'nickname=' 'force' 'version' 'h/help'
            case 'restore'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'password-file=' 'nickname=' 'index=' 'force' 'version' 'h/help'
            case 'show'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'version' 'h/help'
            case 'export'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'password-file=' 'version' 'h/help'
            case 'passwd'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'password-file=' 'new-password-file=' 'version' 'h/help'
            case 'delete'
                __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'yes' 'version' 'h/help'
            end
        case 'peers'
            __gigi_parse_subcommand 0 'json' 'v/verbose' 'home=' 'lan-discovery=' 'lan-interfaces=' 'nickname=' 'watch' 'timeout=' 'announce' 'no-announce' 'resolve=' 'version' 'h/help'
        case 'hash'
            __gigi_parse_subcommand -r 1 'json' 'v/verbose' 'home=' 'chunks' 'sha256' 'version' 'h/help'
        case 'help'
            __gigi_parse_subcommand -r 1 'version'
        end
    end
end

function __gigi_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __gigi_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __gigi_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __gigi_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__gigi_tokens -p)
    if test -z "$(__gigi_tokens -t)"
        set -l index (count (__gigi_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'gigi' -f
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'share' -d 'Share files or a directory tree; prints a share code for `gigi fetch`.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'fetch' -d 'Fetch what `gigi share` offers, by share code or ticket.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'shares' -d 'List the shares the daemon is serving.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'unshare' -d 'Stop serving a share of the daemon (by the id `gigi shares` shows, a prefix of it, or its code).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'daemon' -d 'Run the node in the foreground, or ask a running one for its status or to stop.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'events' -d 'Print the daemon\'s event stream (JSON lines) until interrupted.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'send' -d 'Send a direct message to a contact, nickname, peer ID or multiaddr.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'inbox' -d 'Show received direct messages (and mark them read).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'messages' -d 'Show the conversation with a peer; --follow streams new messages.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'chat' -d 'Chat with a peer in line mode: your lines go out, theirs are printed.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'contacts' -d 'Name peers: a contact name can stand wherever a peer is asked for.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'account' -d 'Create, restore and manage the account (a BIP-39 recovery phrase).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'peers' -d 'List peers discovered on the local network.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'hash' -d 'Print the BLAKE3 of files, and on request their SHA-256 and 256 KiB chunk hashes.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" words' -l 'words' -d 'Secret words in the code (2-16; each adds 11 bits).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" ticket' -l 'ticket' -d 'Also print a ticket: a long token that needs no rendezvous (peer, addresses, 128-bit secret).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" keep' -l 'keep' -d 'Keep serving after a fetch completes, until interrupted.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share"' -l 'listen' -d 'Listen on this multiaddr (repeatable; default /ip4/0.0.0.0/tcp/0).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" lan-discovery' -l 'lan-discovery' -d 'Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" lan-interfaces' -l 'lan-interfaces' -d 'Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" nickname' -l 'nickname' -d 'The nickname announced on the LAN (default: the account\'s nickname, else the host name).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi share" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch"' -l 'peer' -d 'The sharer\'s address, as printed by `gigi share` (repeatable).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" o output' -s 'o' -l 'output' -d 'Directory to fetch into (default: the current directory).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" overwrite' -l 'overwrite' -d 'Replace files that already exist at the destination.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" no-reuse' -l 'no-reuse' -d 'Fetch every chunk over the network, even ones held locally.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" fsync' -l 'fsync' -d 'Wait until the received files are on stable storage before finishing.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" lan-discovery' -l 'lan-discovery' -d 'Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" lan-interfaces' -l 'lan-interfaces' -d 'Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" nickname' -l 'nickname' -d 'The nickname announced on the LAN (default: the account\'s nickname, else the host name).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi fetch" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi shares" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi shares"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi shares" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi shares" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi shares" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi unshare" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi unshare"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi unshare" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi unshare" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi unshare" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi daemon" -eq 1' -fa 'run' -d 'Run the daemon in the foreground until SIGINT/SIGTERM or `gigi daemon stop`.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi daemon" -eq 1' -fa 'status' -d 'Show whether a daemon runs for this GIGI_HOME, its peer ID and addresses.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi daemon" -eq 1' -fa 'stop' -d 'Ask the daemon of this GIGI_HOME to stop, and wait until it has.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run"' -l 'listen' -d 'Listen on this multiaddr (repeatable; default /ip4/0.0.0.0/tcp/0).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run" lan-discovery' -l 'lan-discovery' -d 'Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run" lan-interfaces' -l 'lan-interfaces' -d 'Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run" nickname' -l 'nickname' -d 'The nickname announced on the LAN (default: the account\'s nickname, else the host name).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon run" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon status" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon status"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon status" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon status" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon stop" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon stop"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon stop" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon stop" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi daemon stop" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi events" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi events"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi events" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi events" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi events" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" timeout' -l 'timeout' -d 'Seconds to wait for the peer to acknowledge (default 10).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" reply-to' -l 'reply-to' -d 'Answer to this message id.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" lan-discovery' -l 'lan-discovery' -d 'Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" lan-interfaces' -l 'lan-interfaces' -d 'Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" nickname' -l 'nickname' -d 'The nickname announced on the LAN (default: the account\'s nickname, else the host name).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi send" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" unread' -l 'unread' -d 'Only messages not shown before.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" limit' -l 'limit' -d 'At most this many messages (newest).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" lan-discovery' -l 'lan-discovery' -d 'Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" lan-interfaces' -l 'lan-interfaces' -d 'Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" nickname' -l 'nickname' -d 'The nickname announced on the LAN (default: the account\'s nickname, else the host name).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi inbox" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" limit' -l 'limit' -d 'At most this many messages (newest).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" follow' -l 'follow' -d 'Keep running and print new messages as they arrive.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" lan-discovery' -l 'lan-discovery' -d 'Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" lan-interfaces' -l 'lan-interfaces' -d 'Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" nickname' -l 'nickname' -d 'The nickname announced on the LAN (default: the account\'s nickname, else the host name).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi messages" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi chat" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi chat"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi chat" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi chat" lan-discovery' -l 'lan-discovery' -d 'Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi chat" lan-interfaces' -l 'lan-interfaces' -d 'Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi chat" nickname' -l 'nickname' -d 'The nickname announced on the LAN (default: the account\'s nickname, else the host name).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi chat" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi chat" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi contacts" -eq 1' -fa 'add' -d 'Add a contact.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi contacts" -eq 1' -fa 'ls' -d 'List the contacts.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi contacts" -eq 1' -fa 'rm' -d 'Remove a contact.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi contacts" -eq 1' -fa 'rename' -d 'Rename a contact.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts add"' -l 'addr' -d 'An address where it listens (repeatable).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts add" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts add"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts add" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts add" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts add" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts ls" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts ls"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts ls" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts ls" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts ls" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rm" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rm"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rm" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rm" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rm" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rename" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rename"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rename" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rename" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi contacts rename" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi account" -eq 1' -fa 'create' -d 'Create a new account and show its recovery phrase once.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi account" -eq 1' -fa 'restore' -d 'Restore an account from its recovery phrase (read from standard input or a hidden prompt).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi account" -eq 1' -fa 'show' -d 'Show the nickname, peer ID, EVM address, group id and identity index.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi account" -eq 1' -fa 'export' -d 'Show the recovery phrase (asks for the password).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi account" -eq 1' -fa 'passwd' -d 'Change the account password.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_positional "gigi account" -eq 1' -fa 'delete' -d 'Delete the account from this GIGI_HOME (asks for confirmation).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create" password-file' -l 'password-file' -d 'Read the password from the first line of this file.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create" words' -l 'words' -d 'Number of words: 12 or 24.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create" nickname' -l 'nickname' -d 'A name other peers see on the LAN.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create" force' -l 'force' -d 'Replace an existing account (its recovery phrase is lost unless you saved it).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore" password-file' -l 'password-file' -d 'Read the password from the first line of this file.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore" nickname' -l 'nickname' -d 'A name other peers see on the LAN.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore" index' -l 'index' -d 'Identity index i of the paths m/44\'/60\'/{0,1,2}\'/0/i.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore" force' -l 'force' -d 'Replace an existing account (its recovery phrase is lost unless you saved it).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account restore" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account show" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account show"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account show" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account show" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account export" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account export"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account export" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account export" password-file' -l 'password-file' -d 'Read the password from the first line of this file.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account export" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account passwd" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account passwd"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account passwd" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account passwd" password-file' -l 'password-file' -d 'Read the password from the first line of this file.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account passwd" new-password-file' -l 'new-password-file' -d 'Read the new password from the first line of this file.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account passwd" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account passwd" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account delete" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account delete"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account delete" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account delete" yes' -l 'yes' -d 'Do not ask for confirmation.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account delete" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi account delete" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" lan-discovery' -l 'lan-discovery' -d 'Turn LAN discovery (GigiDNS multicast) on or off (default: $GIGI_LAN_DISCOVERY, else on).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" lan-interfaces' -l 'lan-interfaces' -d 'Discover only on these interfaces, comma-separated (default: $GIGI_LAN_INTERFACES, else every multicast-capable one).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" nickname' -l 'nickname' -d 'The nickname announced on the LAN (default: the account\'s nickname, else the host name).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" watch' -l 'watch' -d 'Keep listening and print each change (discovered, updated, expired) until interrupted.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" timeout' -l 'timeout' -d 'How long to listen (default: 3 seconds; with --watch: until interrupted).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" announce' -l 'announce' -d 'Announce this node on the LAN while listening.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" no-announce' -l 'no-announce' -d 'Announce this node on the LAN while listening.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" resolve' -l 'resolve' -d 'Print only the peer with this nickname or peer ID; fails if none or several match.' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi peers" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi hash" json' -l 'json' -d 'Print machine-readable JSON (one object per line).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi hash"' -s 'v' -l 'verbose' -d 'Log more detail to standard error (repeat for debug).'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi hash" home' -l 'home' -d 'Gigi\'s state directory (default: $GIGI_HOME, else $XDG_DATA_HOME/gigi).' -rfka ''
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi hash" chunks' -l 'chunks' -d 'Also list each 256 KiB chunk: index, offset, length, BLAKE3.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi hash" sha256' -l 'sha256' -d 'Also print each file\'s SHA-256.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi hash" version' -l 'version' -d 'Show the version.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi hash" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gigi' -n '__gigi_should_offer_completions_for_flags_or_options "gigi help" version' -l 'version' -d 'Show the version.'
