# bash completion for ike(8): commands, cmd= subcommands, their parameters, and tunnel
# names from `ike cmd=list configured` of the running daemon (or the configuration file).
# Install as /usr/share/bash-completion/completions/ike, or source it.
_ike_tunnel_names() {
    local cfg=${IKE_CONFIG:-/etc/config/ike}
    ike cmd=list configured 2>/dev/null | awk 'NR > 1 { print $1 }' && return
    [ -r "$cfg" ] && sed -n "s/^[[:space:]]*config[[:space:]]\{1,\}tunnel[[:space:]]\{1,\}['\"]\{0,1\}\([A-Za-z0-9_]*\).*/\1/p" "$cfg"
}

_ike() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local first=${COMP_WORDS[1]}
    local words
    if [ "$COMP_CWORD" -eq 1 ]; then
        words="daemon check version help cmd=activate cmd=remove cmd=rekey cmd=list cmd=log cmd=reload cmd=status"
    else
        case "$first" in
        daemon) words="--foreground --config --socket --pidfile" ;;
        check) words="--config" ;;
        cmd=activate) words="phase=1 phase=2 numlist= namelist= remid= ipaddr= autostart wait= socket=" ;;
        cmd=remove) words="phase=1 phase=2 numlist= namelist= remid= ipaddr= all socket=" ;;
        cmd=rekey) words="phase=1 phase=2 numlist= namelist= socket=" ;;
        cmd=list) words="phase=1 phase=1+ phase=2 numlist= namelist= verbose configured certs format=json format=table socket=" ;;
        cmd=log) words="level=none level=error level=event level=information level=debug format=json socket=" ;;
        cmd=status) words="format=json format=table socket=" ;;
        cmd=reload) words="socket=" ;;
        *) words="" ;;
        esac
        case "$cur" in
        namelist=*)
            local names prefix=${cur#namelist=}
            local given=${prefix%"${prefix##*,}"}
            names=$(_ike_tunnel_names)
            COMPREPLY=($(compgen -P "namelist=$given" -W "$names" -- "${prefix##*,}"))
            return
            ;;
        esac
        case "${COMP_WORDS[COMP_CWORD-1]}" in
        --config|--socket|--pidfile)
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        esac
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    case "${COMPREPLY[0]:-}" in *=) compopt -o nospace 2>/dev/null ;; esac
}
complete -F _ike ike
