################################################################################
#
# ike
#
################################################################################

IKE_VERSION = 0.1.0
IKE_SITE = $(BR2_EXTERNAL_IKE_PATH)/..
IKE_SITE_METHOD = local
IKE_LICENSE = proprietary

define IKE_BUILD_CMDS
	test -x $(@D)/dist/ike || { echo "ike: run scripts/build-static first"; exit 1; }
endef

define IKE_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/dist/ike $(TARGET_DIR)/usr/sbin/ike
	ln -sf ike $(TARGET_DIR)/usr/sbin/tmd
	$(INSTALL) -D -m 0600 $(@D)/board/rootfs/etc/config/ike $(TARGET_DIR)/etc/config/ike
endef

define IKE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/board/rootfs/etc/init.d/S50ike $(TARGET_DIR)/etc/init.d/S50ike
endef

$(eval $(generic-package))
