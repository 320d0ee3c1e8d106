################################################################################
#
# ike
#
################################################################################

IKE_VERSION = 0.1.0
IKE_SITE = $(BR2_EXTERNAL_IKE_PATH)/..
IKE_SITE_METHOD = local
IKE_LICENSE = proprietary
IKE_DEPENDENCIES = openssl libnl

IKE_SWIFT = $(call qstrip,$(BR2_PACKAGE_IKE_SWIFT_TOOLCHAIN))
IKE_TARGET = $(if $(BR2_aarch64),aarch64,$(if $(BR2_arm),armv7,x86_64))

# Embedded Swift for the target, the C shim and the link with the tree's compiler,
# against the staging tree's glibc, libcrypto.a and libnl archives.
define IKE_BUILD_CMDS
	cd $(@D) && PATH="$(IKE_SWIFT):$$PATH" scripts/build-static --target $(IKE_TARGET) \
		--sysroot $(STAGING_DIR) --cc "$(TARGET_CC)" --output dist/ike-buildroot
endef

define IKE_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/dist/ike-buildroot $(TARGET_DIR)/usr/sbin/ike
	ln -sf ike $(TARGET_DIR)/usr/sbin/tmd
	$(INSTALL) -D -m 0600 $(@D)/board/rootfs/etc/config/ike $(TARGET_DIR)/etc/config/ike
endef

define IKE_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/board/rootfs/etc/init.d/S50ike $(TARGET_DIR)/etc/init.d/S50ike
endef

# The kernel options of linux-ipsec.config, when Buildroot builds the kernel.
define IKE_LINUX_CONFIG_FIXUPS
	$(foreach option,$(shell sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=y$$/\1/p' $(BR2_EXTERNAL_IKE_PATH)/package/ike/linux-ipsec.config),
		$(call KCONFIG_ENABLE_OPT,$(option)))
endef

$(eval $(generic-package))
