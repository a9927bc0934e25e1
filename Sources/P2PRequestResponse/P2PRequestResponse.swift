// P2PRequestResponse (in progress).
